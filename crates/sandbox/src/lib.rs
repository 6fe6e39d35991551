//! Local emulators of the platforms' REST APIs.
//!
//! Each sandbox is an HTTP server that answers the way the real platform does (paths,
//! envelopes, status codes, auth, paging), so that connectors and the platforms' own client
//! libraries cannot tell it from a real instance but for the base URL. Sandboxes power the
//! test suite, the demo and the benchmarks, and let users try sync rules offline.
//!
//! [`common`] holds what every sandbox shares (serving, TLS, fault injection, request
//! counters, persistence, push delivery); each platform lives in its own module.

#![recursion_limit = "256"]

pub mod common;
pub mod salesforce;
pub mod servicenow;
