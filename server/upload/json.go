package upload

import (
	"encoding/base64"
	"strings"
)

// JSONFile is one entry of the "files" array of a JSON generation upload.
type JSONFile struct {
	Path    string `json:"path"`
	Content string `json:"content"`
	// Encoding is "" or "utf-8" for text, "base64" for binary content.
	// Case is ignored.
	Encoding string `json:"encoding,omitempty"`
}

// FromJSON validates the files of a JSON upload and decodes their content.
// It returns the files sorted by path, or an error wrapping ErrInvalid or
// ErrTooLarge that names the offending path. The request body itself must be
// bounded by the caller before it is decoded into JSONFile values.
func FromJSON(files []JSONFile, lim Limits) ([]File, error) {
	c := newCollector(lim)
	if len(files) > c.lim.MaxFiles {
		// Checked up front so an over-long list fails fast and
		// consistently, whatever else is wrong with it.
		return nil, tooLargef("%d files, more than %d", len(files), c.lim.MaxFiles)
	}
	for _, f := range files {
		if err := c.claim(f.Path); err != nil {
			return nil, err
		}
		content, err := decodeContent(f)
		if err != nil {
			return nil, err
		}
		if err := c.addBytes(f.Path, content); err != nil {
			return nil, err
		}
	}
	return c.result(false)
}

// decodeContent decodes one file's content. Its size is checked by the
// caller: the encoded form is already in memory, so decoding first costs at
// most as much again.
func decodeContent(f JSONFile) ([]byte, error) {
	switch strings.ToLower(f.Encoding) {
	case "", "utf-8":
		return []byte(f.Content), nil
	case "base64":
		content, err := base64.StdEncoding.DecodeString(f.Content)
		if err != nil && !strings.Contains(f.Content, "=") {
			// Padding is optional: encoders disagree, and leaving it
			// out is no reason to refuse an otherwise correct file.
			content, err = base64.RawStdEncoding.DecodeString(f.Content)
		}
		if err != nil {
			return nil, invalidf("file %s: content is not valid base64", quote(f.Path))
		}
		return content, nil
	default:
		return nil, invalidf("file %s: unknown encoding %q; use \"utf-8\" or \"base64\"", quote(f.Path), f.Encoding)
	}
}
