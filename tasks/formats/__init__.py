"""The file formats the project reads and edits, as pure code (no I/O, no project imports): span-preserving XML
(xmldoc), Java .properties (props), Java keystores (jks), zip directories (zipdir), SQL scripts (sqlscript), hosts
files (hostsfile) and Secure Vault's marks (securevault). Probes, steps and the engine build on them."""
