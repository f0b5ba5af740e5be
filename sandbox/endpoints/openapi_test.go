package endpoints

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/previewd/previewd/sandbox/framework"
)

// testdata/endpoints/openapi/loop-include.json is the /openapi.json of the
// corpus app fastapi/loop-include as FastAPI 0.92 in the runtime image
// serves it, made with
//
//	docker run --rm --network none -v "$PWD/testdata/endpoints:/corpus:ro" \
//	  --entrypoint python3 previewd/runtime-python:latest \
//	  /corpus/dump/routes.py --openapi /corpus/fastapi/loop-include
//
// That app imports two of its routers by name with importlib, which static
// parsing cannot follow: the document is what finds their routes.
func loopIncludeDoc(t *testing.T) []byte {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(corpusDir(t), "openapi", "loop-include.json"))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestMergeOpenAPIAddsWhatStaticMissed(t *testing.T) {
	static := extractBytes(t, framework.FastAPI, loadApp(t, filepath.Join(corpusDir(t), "fastapi", "loop-include")))
	wantRows(t, static,
		"GET / main.py:19",
		"POST /billing/pay routers/billing.py:12",
		"GET /catalog/ routers/catalog.py:6",
		"GET /catalog/{product_id} routers/catalog.py:12",
	)

	merged := merge(t, static, loopIncludeDoc(t))
	wantRows(t, merged,
		"GET / main.py:19",
		"POST /billing/pay routers/billing.py:12",
		"GET /catalog/ routers/catalog.py:6",
		"GET /catalog/{product_id} routers/catalog.py:12",
		"GET /reviews/{product_id} :0",
		"GET /wishlist :0",
		"POST /wishlist/{product_id} :0",
	)
	root := endpoint(t, merged, "GET", "/")
	if root.Source != SourceStatic || root.Summary != "Store front." {
		t.Errorf("GET / = %+v, want the static endpoint, its docstring kept over FastAPI's generated summary", root)
	}
	pay := endpoint(t, merged, "POST", "/billing/pay")
	if pay.Source != SourceStatic || pay.Summary != "Pay" {
		t.Errorf("POST /billing/pay = %+v, want the static endpoint with the document's summary", pay)
	}
	wantParams(t, pay, Param{Name: "payment", In: "body", Type: "Payment", Required: true})
	add := endpoint(t, merged, "POST", "/wishlist/{product_id}")
	if add.Source != SourceOpenAPI || add.Summary != "Add" || !reflect.DeepEqual(add.Tags, []string{"wishlist"}) {
		t.Errorf("POST /wishlist/{product_id} = %+v, want it from the document", add)
	}
	wantParams(t, add, Param{Name: "product_id", In: "path", Type: "integer", Required: true})
}

func TestMergeOpenAPIFillsGaps(t *testing.T) {
	static := []Endpoint{{
		Method: "GET", Path: "/catalog/{product_id}", File: "routers/catalog.py", Line: 12, Source: SourceStatic,
		Params: []Param{{Name: "product_id", In: "path", Required: true}},
	}, {
		Method: "POST", Path: "/billing/pay", Summary: "Take a payment.", File: "routers/billing.py", Line: 14,
		Source: SourceStatic, Params: []Param{{Name: "payment", In: "body", Type: "Payment", Required: true}},
	}}
	merged := merge(t, static, loopIncludeDoc(t))
	product := endpoint(t, merged, "GET", "/catalog/{product_id}")
	if product.Source != SourceStatic || product.File != "routers/catalog.py" || product.Line != 12 ||
		product.Summary != "Product" || !reflect.DeepEqual(product.Tags, []string{"catalog"}) {
		t.Errorf("GET /catalog/{product_id} = %+v, want the static endpoint completed by the document", product)
	}
	wantParams(t, product, Param{Name: "product_id", In: "path", Type: "integer", Required: true})
	pay := endpoint(t, merged, "POST", "/billing/pay")
	if pay.Summary != "Take a payment." {
		t.Errorf("summary = %q, want the static one kept", pay.Summary)
	}
	wantParams(t, pay, Param{Name: "payment", In: "body", Type: "Payment", Required: true})
	if static[0].Params[0].Type != "" {
		t.Error("MergeOpenAPI changed its input")
	}
}

func TestMergeOpenAPIRejectsBadDocument(t *testing.T) {
	if _, err := MergeOpenAPI(Result{}, []byte("<html>"), Limits{}); err == nil {
		t.Fatal("no error for a document that is not JSON")
	}
}

// merge runs MergeOpenAPI with the default limits, which the test
// documents do not reach.
func merge(t *testing.T, static []Endpoint, doc []byte) []Endpoint {
	t.Helper()
	res, err := MergeOpenAPI(Result{Endpoints: static}, doc, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if res.Truncated {
		t.Fatalf("merge truncated: %q", res.Reasons)
	}
	return res.Endpoints
}

// TestMergeOpenAPIBoundsRoutes: a running app's document adds routes only
// up to MaxRoutes, and says it left the rest out; what static parsing cut
// stays said.
func TestMergeOpenAPIBoundsRoutes(t *testing.T) {
	var doc strings.Builder
	doc.WriteString(`{"paths": {`)
	for i := range 50 {
		if i > 0 {
			doc.WriteString(",")
		}
		fmt.Fprintf(&doc, `"/r%d": {"get": {"summary": "r"}}`, i)
	}
	doc.WriteString(`}}`)
	static := Result{Endpoints: []Endpoint{{Method: "GET", Path: "/r1", Source: SourceStatic}},
		Truncated: true, Reasons: []string{"static reason"}}
	res, err := MergeOpenAPI(static, []byte(doc.String()), Limits{MaxRoutes: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Endpoints) != 10 || !res.Truncated || len(res.Reasons) != 2 ||
		res.Reasons[0] != "static reason" || !strings.Contains(res.Reasons[1], "40 routes of the running app's /openapi.json left out") {
		t.Fatalf("merge of 50 routes under a limit of 10: %d endpoints, truncated %v, reasons %q", len(res.Endpoints), res.Truncated, res.Reasons)
	}
}
