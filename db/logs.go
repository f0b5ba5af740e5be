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
// columns go as arrays and unnest turns them back into rows.
func (s *Store) AppendLogs(ctx context.Context, lines []LogLine) error {
	if len(lines) == 0 {
		return nil
	}
	const insert = `INSERT INTO preview_logs (preview_id, seq, ts, stream, line)
		SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[], $4::text[], $5::text[])`
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
		return fmt.Errorf("append %d log lines of preview %s: %w", len(lines), lines[0].PreviewID, err)
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
