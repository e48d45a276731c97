//! The Markdown report (being written).

use crate::report::Report;

/// Renders the report as Markdown for an incident ticket.
pub fn render(report: &Report) -> String {
    let _ = report;
    String::new()
}
