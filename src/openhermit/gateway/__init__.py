"""The HTTP gateway: API, auth, streams, admin UI."""
