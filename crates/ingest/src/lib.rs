//! faultline-ingest
