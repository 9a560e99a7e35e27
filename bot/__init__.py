"""The running Discord service: settings, storage, per-guild catalogues."""
