CREATE TABLE `import_files` (
	`job_id` text NOT NULL,
	`seq` integer NOT NULL,
	`name` text NOT NULL,
	`outcome` text NOT NULL,
	`reason` text,
	`instances` integer DEFAULT 0 NOT NULL,
	`study_instance_uid` text,
	PRIMARY KEY(`job_id`, `seq`),
	FOREIGN KEY (`job_id`) REFERENCES `import_jobs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `import_files_outcome_idx` ON `import_files` (`job_id`,`outcome`);--> statement-breakpoint
CREATE TABLE `import_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`owner_group_id` text NOT NULL,
	`created_by` text,
	`created_by_email` text,
	`label` text DEFAULT '' NOT NULL,
	`status` text NOT NULL,
	`files_received` integer DEFAULT 0 NOT NULL,
	`bytes_received` integer DEFAULT 0 NOT NULL,
	`instances_stored` integer DEFAULT 0 NOT NULL,
	`duplicates` integer DEFAULT 0 NOT NULL,
	`rejected` integer DEFAULT 0 NOT NULL,
	`skipped` integer DEFAULT 0 NOT NULL,
	`warnings` text DEFAULT '[]' NOT NULL,
	`study_uids` text DEFAULT '[]' NOT NULL,
	`error` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`owner_group_id`) REFERENCES `groups`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `import_jobs_creator_idx` ON `import_jobs` (`created_by`);--> statement-breakpoint
CREATE INDEX `import_jobs_created_idx` ON `import_jobs` (`created_at`);--> statement-breakpoint
CREATE TABLE `patients` (
	`key` text PRIMARY KEY NOT NULL,
	`patient_id` text DEFAULT '' NOT NULL,
	`patient_name` text DEFAULT '' NOT NULL,
	`birth_date` text DEFAULT '' NOT NULL,
	`sex` text DEFAULT '' NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `patients_patient_id_idx` ON `patients` (`patient_id`);--> statement-breakpoint
CREATE TABLE `series` (
	`series_instance_uid` text PRIMARY KEY NOT NULL,
	`study_instance_uid` text NOT NULL,
	`orthanc_id` text NOT NULL,
	`modality` text DEFAULT '' NOT NULL,
	`series_number` integer,
	`series_description` text DEFAULT '' NOT NULL,
	`body_part` text DEFAULT '' NOT NULL,
	`instance_count` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`study_instance_uid`) REFERENCES `studies`(`study_instance_uid`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `series_study_idx` ON `series` (`study_instance_uid`);--> statement-breakpoint
CREATE INDEX `series_modality_idx` ON `series` (`modality`);--> statement-breakpoint
CREATE TABLE `system_state` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
ALTER TABLE `groups` ADD `kind` text DEFAULT 'standard' NOT NULL;--> statement-breakpoint
ALTER TABLE `studies` ADD `orthanc_id` text;--> statement-breakpoint
ALTER TABLE `studies` ADD `patient_key` text REFERENCES patients(key);--> statement-breakpoint
ALTER TABLE `studies` ADD `accession_number` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `studies` ADD `instance_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `studies` ADD `source` text DEFAULT 'stow' NOT NULL;--> statement-breakpoint
ALTER TABLE `studies` ADD `synced_at` integer;--> statement-breakpoint
CREATE INDEX `studies_patient_idx` ON `studies` (`patient_key`);--> statement-breakpoint
CREATE INDEX `studies_date_idx` ON `studies` (`study_date`);--> statement-breakpoint
CREATE UNIQUE INDEX `studies_orthanc_unique` ON `studies` (`orthanc_id`);