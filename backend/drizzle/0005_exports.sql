CREATE TABLE `export_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`created_by` text NOT NULL,
	`created_by_email` text NOT NULL,
	`status` text NOT NULL,
	`options` text NOT NULL,
	`purpose` text NOT NULL,
	`recipient` text NOT NULL,
	`study_uids` text NOT NULL,
	`instances_total` integer DEFAULT 0 NOT NULL,
	`instances_done` integer DEFAULT 0 NOT NULL,
	`files_written` integer DEFAULT 0 NOT NULL,
	`bytes_written` integer DEFAULT 0 NOT NULL,
	`flagged` text DEFAULT '[]' NOT NULL,
	`file_path` text,
	`error` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer NOT NULL,
	`finished_at` integer,
	`expires_at` integer
);
--> statement-breakpoint
CREATE INDEX `export_jobs_creator_idx` ON `export_jobs` (`created_by`);--> statement-breakpoint
CREATE INDEX `export_jobs_created_idx` ON `export_jobs` (`created_at`);--> statement-breakpoint
CREATE TABLE `export_ledger` (
	`export_id` text NOT NULL,
	`group_id` text NOT NULL,
	`group_name` text NOT NULL,
	`at` integer NOT NULL,
	`exported_by` text NOT NULL,
	`recipient` text NOT NULL,
	`purpose` text NOT NULL,
	`deidentified` integer NOT NULL,
	`study_count` integer NOT NULL,
	`instance_count` integer NOT NULL,
	`bytes` integer NOT NULL,
	PRIMARY KEY(`export_id`, `group_id`)
);
--> statement-breakpoint
CREATE INDEX `export_ledger_at_idx` ON `export_ledger` (`at`);--> statement-breakpoint
CREATE INDEX `export_ledger_recipient_idx` ON `export_ledger` (`recipient`);--> statement-breakpoint
CREATE TABLE `pseudonyms` (
	`group_id` text NOT NULL,
	`patient_key` text NOT NULL,
	`pseudonym` text NOT NULL,
	`date_offset_days` integer NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`group_id`, `patient_key`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `pseudonyms_value_unique` ON `pseudonyms` (`pseudonym`);