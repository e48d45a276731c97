//! faultline-formats
