"""The service layer: business rules that the REST API and the web portal share.

A service function takes an open store connection (the caller owns the transaction) and plain values,
and raises the store's ``Refused``/``Conflict`` or ``service.errors`` exceptions, which the API maps to
4xx answers in one place. Routes translate HTTP to these calls and rows to resources; they decide
nothing themselves.
"""
