"""The web portal: a single page served at ``/app`` that is a client of the REST API.

Every page reads and writes through ``/api`` with the login session's cookie and CSRF header, so the
portal shows exactly what the API lets the signed-in user see, answers with the API's own error
messages, and holds no business rule of its own: there is one implementation of each rule, behind the
API, shared by the portal, the CLI and anyone's automation.
"""
