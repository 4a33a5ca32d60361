CREATE TABLE `pending_claims` (
	`study_instance_uid` text NOT NULL,
	`owner_group_id` text NOT NULL,
	`import_job_id` text NOT NULL,
	`created_by` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`study_instance_uid`, `owner_group_id`),
	FOREIGN KEY (`owner_group_id`) REFERENCES `groups`(`id`) ON UPDATE no action ON DELETE cascade
);
