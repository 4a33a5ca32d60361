CREATE TABLE `inference_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`request_key` text,
	`study_instance_uid` text NOT NULL,
	`series_instance_uids` text NOT NULL,
	`model` text NOT NULL,
	`params` text DEFAULT '{}' NOT NULL,
	`status` text NOT NULL,
	`stage` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`error` text,
	`created_by` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_at` integer NOT NULL,
	`finished_at` integer,
	FOREIGN KEY (`study_instance_uid`) REFERENCES `studies`(`study_instance_uid`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `inference_jobs_request_key_unique` ON `inference_jobs` (`request_key`);--> statement-breakpoint
CREATE INDEX `inference_jobs_study_idx` ON `inference_jobs` (`study_instance_uid`);--> statement-breakpoint
CREATE TABLE `segmentation_results` (
	`id` text PRIMARY KEY NOT NULL,
	`job_id` text NOT NULL,
	`study_instance_uid` text NOT NULL,
	`source_series_uid` text NOT NULL,
	`seg_series_uid` text NOT NULL,
	`seg_sop_instance_uid` text NOT NULL,
	`model` text NOT NULL,
	`model_version` text DEFAULT '' NOT NULL,
	`voxel_volume_mm3` real NOT NULL,
	`validation_status` text DEFAULT 'pending' NOT NULL,
	`validation_comment` text,
	`validated_by` text,
	`validated_by_email` text,
	`validated_at` integer,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`job_id`) REFERENCES `inference_jobs`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`study_instance_uid`) REFERENCES `studies`(`study_instance_uid`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `segmentation_results_job_unique` ON `segmentation_results` (`job_id`);--> statement-breakpoint
CREATE INDEX `segmentation_results_study_idx` ON `segmentation_results` (`study_instance_uid`);--> statement-breakpoint
CREATE TABLE `segments` (
	`result_id` text NOT NULL,
	`number` integer NOT NULL,
	`label_value` integer NOT NULL,
	`label` text NOT NULL,
	`color` text NOT NULL,
	`voxel_count` integer NOT NULL,
	`volume_cm3` real NOT NULL,
	`key_slice_index` integer NOT NULL,
	`key_slice_sop_instance_uid` text NOT NULL,
	`key_slice_mask_png` blob NOT NULL,
	PRIMARY KEY(`result_id`, `number`),
	FOREIGN KEY (`result_id`) REFERENCES `segmentation_results`(`id`) ON UPDATE no action ON DELETE cascade
);
