package endpoints

import (
	"os"
	"path/filepath"
	"reflect"
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
	static, err := Extract(framework.FastAPI, loadApp(t, filepath.Join(corpusDir(t), "fastapi", "loop-include")))
	if err != nil {
		t.Fatal(err)
	}
	wantRows(t, static,
		"GET / main.py:19",
		"POST /billing/pay routers/billing.py:12",
		"GET /catalog/ routers/catalog.py:6",
		"GET /catalog/{product_id} routers/catalog.py:12",
	)

	merged, err := MergeOpenAPI(static, loopIncludeDoc(t))
	if err != nil {
		t.Fatal(err)
	}
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
	merged, err := MergeOpenAPI(static, loopIncludeDoc(t))
	if err != nil {
		t.Fatal(err)
	}
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
	if _, err := MergeOpenAPI(nil, []byte("<html>")); err == nil {
		t.Fatal("no error for a document that is not JSON")
	}
}
