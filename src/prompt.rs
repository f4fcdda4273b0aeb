//! Handlebars templates in `prompts/` (embedded), no HTML escaping, strict mode.
