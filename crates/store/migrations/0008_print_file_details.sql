-- What a print file's versions and per-plate metadata need beyond the original columns.
--
-- print_files keeps the original summary columns (print_time_seconds, filament_type, ...)
-- for the current version. metadata_json holds the whole parsed 3MF (every plate, its
-- filaments, times and objects), which jobs need to print plate N of a multi-plate file;
-- is_sliced says whether the file can print at all; content_sha256 identifies the bytes.
ALTER TABLE print_files ADD COLUMN metadata_json TEXT;
ALTER TABLE print_files ADD COLUMN is_sliced BIGINT NOT NULL DEFAULT 0;
ALTER TABLE print_files ADD COLUMN content_sha256 TEXT;

-- A version carries its own bytes, size, metadata and thumbnail, so making an older
-- version current again restores exactly what it was.
ALTER TABLE print_file_versions ADD COLUMN file_size_bytes BIGINT;
ALTER TABLE print_file_versions ADD COLUMN metadata_json TEXT;
ALTER TABLE print_file_versions ADD COLUMN thumbnail_r2_key TEXT;
ALTER TABLE print_file_versions ADD COLUMN content_sha256 TEXT;
