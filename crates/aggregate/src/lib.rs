//! faultline-aggregate
