package db

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// Log streams.
const (
	StreamStdout = "stdout"
	StreamStderr = "stderr"
	StreamBuild  = "build"
	StreamSystem = "system"
)

// LogLine is one line of a preview's log.
type LogLine struct {
	PreviewID string    `db:"preview_id" json:"-"`
	Seq       int64     `db:"seq" json:"seq"`
	TS        time.Time `db:"ts" json:"ts"`
	Stream    string    `db:"stream" json:"stream"`
	Line      string    `db:"line" json:"line"`
}

// AppendLogs stores a batch of lines in one statement (one round trip): the
// columns go as arrays and unnest turns them back into rows. The same
// statement notifies the log channel once per preview in the batch (see
// LogNotices); PostgreSQL delivers the notice once the lines are committed.
func (s *Store) AppendLogs(ctx context.Context, lines []LogLine) error {
	if len(lines) == 0 {
		return nil
	}
	const insert = `WITH stored AS (
			INSERT INTO preview_logs (preview_id, seq, ts, stream, line)
			SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[], $4::text[], $5::text[])
		)
		SELECT pg_notify('` + logChannel + `', id) FROM (SELECT DISTINCT unnest($1::uuid[])::text AS id) ids`
	ids := make(pq.StringArray, len(lines))
	seqs := make(pq.Int64Array, len(lines))
	tss := make(pq.StringArray, len(lines))
	streams := make(pq.StringArray, len(lines))
	texts := make(pq.StringArray, len(lines))
	for i, l := range lines {
		ids[i], seqs[i], streams[i], texts[i] = l.PreviewID, l.Seq, l.Stream, l.Line
		tss[i] = l.TS.UTC().Format(time.RFC3339Nano)
	}
	if _, err := s.db.ExecContext(ctx, insert, ids, seqs, tss, streams, texts); err != nil {
		return fmt.Errorf("append %d log lines of preview %s: %w", len(lines), lines[0].PreviewID, referenceGone(err))
	}
	return nil
}

// Logs returns up to limit lines of a preview after seq since, in order.
func (s *Store) Logs(ctx context.Context, previewID string, since int64, limit int) ([]LogLine, error) {
	const query = `SELECT preview_id, seq, ts, stream, line FROM preview_logs
		WHERE preview_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`
	lines := []LogLine{}
	if err := s.db.SelectContext(ctx, &lines, query, previewID, since, limit); err != nil {
		return nil, fmt.Errorf("logs of preview %s: %w", previewID, err)
	}
	return lines, nil
}

// LastLogSeq returns the highest stored seq of a preview, 0 when it has none.
func (s *Store) LastLogSeq(ctx context.Context, previewID string) (int64, error) {
	const query = `SELECT COALESCE(max(seq), 0) FROM preview_logs WHERE preview_id = $1`
	var seq int64
	if err := s.db.GetContext(ctx, &seq, query, previewID); err != nil {
		return 0, fmt.Errorf("last log seq of preview %s: %w", previewID, err)
	}
	return seq, nil
}

// OutputEnd is where the stored lines of one output stream of a preview end.
type OutputEnd struct {
	Stream string    `db:"stream"`
	TS     time.Time `db:"ts"`    // of the stream's last stored line
	Lines  int64     `db:"lines"` // stored lines of the stream with that ts
}

// OutputEnds returns where the stored stdout and stderr of a preview end, one
// entry per stream with stored lines: a restarted previewd reads the
// container's log again from there without storing a line twice.
func (s *Store) OutputEnds(ctx context.Context, previewID string) ([]OutputEnd, error) {
	const query = `SELECT o.stream, last.ts,
			(SELECT count(*) FROM preview_logs c WHERE c.preview_id = $1 AND c.stream = o.stream AND c.ts = last.ts) AS lines
		FROM unnest(ARRAY['stdout', 'stderr']) AS o(stream)
		CROSS JOIN LATERAL (SELECT ts FROM preview_logs
			WHERE preview_id = $1 AND stream = o.stream ORDER BY seq DESC LIMIT 1) last`
	ends := []OutputEnd{}
	if err := s.db.SelectContext(ctx, &ends, query, previewID); err != nil {
		return nil, fmt.Errorf("where the output of preview %s ends: %w", previewID, err)
	}
	return ends, nil
}

// DeleteLogs deletes the lines of a preview up to and including seq through,
// the oldest ones, to keep its log under its cap. It returns how many it deleted.
func (s *Store) DeleteLogs(ctx context.Context, previewID string, through int64) (int64, error) {
	const del = `DELETE FROM preview_logs WHERE preview_id = $1 AND seq <= $2`
	res, err := s.db.ExecContext(ctx, del, previewID, through)
	if err != nil {
		return 0, fmt.Errorf("delete log lines of preview %s through %d: %w", previewID, through, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete log lines of preview %s through %d: %w", previewID, through, err)
	}
	return n, nil
}

// LogSegment sums up consecutive stored lines of a preview.
type LogSegment struct {
	LastSeq int64 `db:"last_seq"`
	Lines   int64 `db:"lines"`
	Bytes   int64 `db:"bytes"` // of the lines' text
}

// LogSegments sums up the stored lines of a preview in segments of at most
// width seqs, oldest first: what a restarted previewd needs to go on keeping
// the log under its cap.
func (s *Store) LogSegments(ctx context.Context, previewID string, width int64) ([]LogSegment, error) {
	const query = `SELECT max(seq) AS last_seq, count(*) AS lines, COALESCE(sum(octet_length(line)), 0) AS bytes
		FROM preview_logs WHERE preview_id = $1 GROUP BY seq / $2::bigint ORDER BY last_seq`
	segs := []LogSegment{}
	if err := s.db.SelectContext(ctx, &segs, query, previewID, max(width, 1)); err != nil {
		return nil, fmt.Errorf("log segments of preview %s: %w", previewID, err)
	}
	return segs, nil
}
