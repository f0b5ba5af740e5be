package endpoints

import (
	"encoding/json"
	"fmt"
	"strings"
)

// openAPIDoc is the part of an OpenAPI 3 document MergeOpenAPI reads.
type openAPIDoc struct {
	Paths map[string]map[string]json.RawMessage `json:"paths"`
}

type openAPIOperation struct {
	Summary     string             `json:"summary"`
	Description string             `json:"description"`
	Tags        []string           `json:"tags"`
	Parameters  []openAPIParameter `json:"parameters"`
	RequestBody *struct {
		Required bool `json:"required"`
		Content  map[string]struct {
			Schema openAPISchema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
}

type openAPIParameter struct {
	Name     string        `json:"name"`
	In       string        `json:"in"`
	Required bool          `json:"required"`
	Schema   openAPISchema `json:"schema"`
}

type openAPISchema struct {
	Type string `json:"type"`
	Ref  string `json:"$ref"`
}

// name is a schema's type, or the name of the component it refers to.
func (s openAPISchema) name() string {
	if s.Ref != "" {
		return s.Ref[strings.LastIndexByte(s.Ref, '/')+1:]
	}
	return s.Type
}

var openAPIMethods = map[string]bool{
	"get": true, "put": true, "post": true, "delete": true,
	"options": true, "head": true, "patch": true, "trace": true,
}

// MergeOpenAPI completes static endpoints with a running FastAPI app's
// /openapi.json: an endpoint both know keeps what static parsing found and
// gains the summary, description, tags and parameter types it lacked; an
// endpoint only the document knows is added with source "openapi" and no
// file or line, while the list has fewer than lim.MaxRoutes endpoints (the
// Result says so when some were left out). The caller bounds doc's size.
func MergeOpenAPI(static Result, doc []byte, lim Limits) (Result, error) {
	lim = lim.withDefaults()
	var d openAPIDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return Result{}, fmt.Errorf("decode openapi document: %w", err)
	}
	res := Result{Truncated: static.Truncated, Reasons: append([]string(nil), static.Reasons...)}
	left := 0
	out := append([]Endpoint(nil), static.Endpoints...)
	index := map[string]int{}
	for i, e := range out {
		index[e.Method+" "+e.Path] = i
	}
	for path, item := range d.Paths {
		for method, raw := range item {
			if !openAPIMethods[method] {
				continue // "parameters", "summary" and the like at path level
			}
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				return Result{}, fmt.Errorf("decode openapi operation %s %s: %w", method, path, err)
			}
			e := fromOperation(strings.ToUpper(method), path, op)
			if i, ok := index[e.Method+" "+e.Path]; ok {
				out[i] = mergeOperation(out[i], e)
				continue
			}
			if len(out) >= lim.MaxRoutes {
				left++
				continue
			}
			index[e.Method+" "+e.Path] = len(out)
			out = append(out, e)
		}
	}
	if left > 0 {
		res.Truncated = true
		res.Reasons = append(res.Reasons, fmt.Sprintf("%d routes of the running app's /openapi.json left out: the list holds at most %d", left, lim.MaxRoutes))
	}
	res.Endpoints = finish(out)
	return res, nil
}

func fromOperation(method, path string, op openAPIOperation) Endpoint {
	e := Endpoint{Method: method, Path: path, Summary: op.Summary, Description: op.Description,
		Tags: op.Tags, Source: SourceOpenAPI}
	for _, p := range op.Parameters {
		if p.In == "path" || p.In == "query" {
			e.Params = append(e.Params, Param{Name: p.Name, In: p.In, Type: p.Schema.name(), Required: p.Required})
		}
	}
	if op.RequestBody != nil {
		for _, c := range op.RequestBody.Content {
			e.Params = append(e.Params, Param{Name: "body", In: "body", Type: c.Schema.name(), Required: op.RequestBody.Required})
			break // every content type carries the same schema
		}
	}
	return e
}

// mergeOperation fills what static parsing missed. FastAPI names a body
// only by its schema, so a body the static side already knows under its
// parameter name is not added again.
func mergeOperation(static, doc Endpoint) Endpoint {
	hasBody := false
	for _, p := range static.Params {
		hasBody = hasBody || p.In == "body"
	}
	var params []Param
	for _, p := range doc.Params {
		if p.In != "body" || !hasBody {
			params = append(params, p)
		}
	}
	doc.Params = params
	return fill(static, doc)
}
