"""Running the service: the operator console's views of keys, grades and platforms, operator accounts,
platform registrations and their changes, reach reporting, data protection (export, erase, purge),
and the `flask operators …` and `flask gdpr …` commands."""
