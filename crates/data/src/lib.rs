//! Data sets and loading for shadernet (CPU only; no GPU dependency).
