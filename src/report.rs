//! What people read: replies on the thread, the job summary, the outputs.
