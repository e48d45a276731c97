//! faultline-diagnose
