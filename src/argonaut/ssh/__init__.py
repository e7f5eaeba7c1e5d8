"""SSH workers: host-key trust, logins with accounts, the runner over SFTP, scripts and health over SSH."""
