DROP TABLE ca_requests;
