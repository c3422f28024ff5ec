-- What print jobs need beyond the original columns.
--
-- plate_index: a job prints one plate of a (possibly multi-plate) 3MF; the hub needs
-- `Metadata/plate_<N>.gcode`. wait_reason: the dispatcher writes why a queued job is
-- not starting (no matching printer, colour not loaded, bed not cleared), as JSON.
ALTER TABLE print_jobs ADD COLUMN plate_index BIGINT NOT NULL DEFAULT 1;
ALTER TABLE print_jobs ADD COLUMN wait_reason TEXT;
