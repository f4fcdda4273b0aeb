//! Workflow commands (`::add-mask::`, groups, annotations), outputs and the job summary.
