"""Building blocks shared by several problems: config validation, road graphs,
rendering, masked action sampling and the reusable environment checks."""
