//! Nothing here: the checks are the integration tests in `tests/`, which use
//! tokio (and, through the `[patch]`, nbio) only.
