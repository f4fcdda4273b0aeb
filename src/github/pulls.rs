//! Pull requests: find the open PR for a branch, open one, update it. Filled in by the
//! publish stage; kept here so every GitHub call goes through the one `Client`.
