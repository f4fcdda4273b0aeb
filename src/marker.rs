//! The hidden line in everything we post. A leaf: the gate reads it to leave our own words
//! alone, and every writer (`report`, `publish::message`, `stop`, the live comment) adds it.

/// Hidden in every comment sisyphus-action posts, so its own words never summon it again
/// (whatever account posts them).
pub const MARKER: &str = "<!-- sisyphus-action -->";
