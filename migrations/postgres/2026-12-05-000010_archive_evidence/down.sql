DROP TABLE archive_evidence;
