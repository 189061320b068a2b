"""The file formats the project reads and edits, as pure code (no I/O, no project imports):
span-preserving XML (xmldoc), Java .properties (props), Java keystores (jks), zip directories
(zipdir), SQL scripts (sqlscript), hosts files (hostsfile), Secure Vault's marks (securevault),
MySQL JDBC URLs (jdbcurl), Carbon's log lines (carbonlog), and one reader per configuration layout
(axis2xml, carbonxml, registryxml, datasourcesxml, usermgtxml, nginxconf). Probes, steps and the engine
build on them; the run's read cache keeps each file's parse (StepContext.document, StepContext.xml)."""
