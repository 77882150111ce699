DROP TABLE draft_signers;
DROP TABLE drafts;
