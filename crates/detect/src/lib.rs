//! faultline-detect
