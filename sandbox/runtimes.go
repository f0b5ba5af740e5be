package sandbox

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/previewd/previewd/db"
	"github.com/previewd/previewd/sandbox/framework"
)

// A runtime ("python", "node") may have several images, one per Debian
// suite, each carrying other framework versions (Config.Runtimes). An app
// that declares version constraints runs on the image whose versions
// satisfy them (see framework.ChooseImage); an app that declares none runs
// on the runtime's default image, Config.Images, the one the warm pool
// keeps containers of.

// runtimeChoice is the image picked for an app, and what it adds to it.
type runtimeChoice struct {
	ref, id  string
	name     string                  // as users see it: "runtime-python-trixie"
	install  []framework.Requirement // installed into a dependency image
	replaced map[string]string       // of install: name → the image's own version
	offers   []framework.ImageOffer
}

// candidates are the images of runtime to choose from, the default first.
func (c *imageCache) candidates(runtime, def string) []string {
	out := []string{def}
	for _, ref := range c.variants[runtime] {
		if ref != def {
			out = append(out, ref)
		}
	}
	return out
}

// imageName is how a message names an image: its repository's last part.
func imageName(ref string) string {
	name := path.Base(ref)
	if i := strings.LastIndexByte(name, ':'); i > 0 {
		name = name[:i]
	}
	if i := strings.IndexByte(name, '@'); i > 0 {
		name = name[:i]
	}
	return name
}

// chooseRuntime picks the image of runtime (default image def) for reqs and
// the interpreter constraint engine. An image that does not exist on this
// engine is left out, unless it is the default (its absence is then the
// launch's error, as without variants).
func (c *imageCache) chooseRuntime(ctx context.Context, runtime, def string, reqs []framework.Requirement, engine string) (runtimeChoice, error) {
	var refs, ids []string
	var offers []framework.ImageOffer
	for i, ref := range c.candidates(runtime, def) {
		id, err := c.backend.ImageID(ctx, ref)
		if err != nil {
			if i == 0 {
				return runtimeChoice{}, err
			}
			continue
		}
		pkgs, err := c.installedIn(ctx, id)
		if err != nil {
			if i == 0 {
				return runtimeChoice{}, err
			}
			continue
		}
		refs, ids = append(refs, ref), append(ids, id)
		offers = append(offers, framework.ImageOffer{Name: imageName(ref), Packages: pkgs})
	}
	ch, err := framework.ChooseImage(runtime, offers, reqs, engine)
	if err != nil {
		var vc *framework.VersionConflict
		if errors.As(err, &vc) {
			return runtimeChoice{}, conflictError(runtime, vc, offers)
		}
		return runtimeChoice{}, err
	}
	if runtime == framework.RuntimeNode && len(ch.Replaced) > 0 {
		// Node resolves an image's own modules (/node_modules) before an
		// installed copy: the app would silently get the image's version.
		var parts []string
		for _, r := range ch.Install {
			if _, ok := ch.Replaced[r.Name]; ok {
				parts = append(parts, fmt.Sprintf("%s %s (available: %s)", r.Name, r.Spec, strings.Join(framework.Offered(offers, r.Name), ", ")))
			}
		}
		return runtimeChoice{}, &LaunchError{conflict: true, Reason: "no runtime has a version the app asks for, and a Node " +
			"runtime's own modules cannot be replaced by installed ones: " + strings.Join(parts, "; ")}
	}
	return runtimeChoice{
		ref: refs[ch.Index], id: ids[ch.Index], name: offers[ch.Index].Name,
		install: ch.Install, replaced: ch.Replaced, offers: offers,
	}, nil
}

// conflictError is a launch error for a constraint nothing can meet.
func conflictError(runtime string, vc *framework.VersionConflict, offers []framework.ImageOffer) *LaunchError {
	what := vc.Name
	if what == framework.EngineKey {
		what = "Python"
		if runtime == framework.RuntimeNode {
			what = "Node"
		}
	}
	var reason string
	if vc.Why != "" {
		reason = fmt.Sprintf("the app asks for %s %s, and %s", what, vc.Spec, vc.Why)
	} else {
		reason = fmt.Sprintf("the app asks for %s %s, which no runtime has: %s", what, vc.Spec, strings.Join(framework.Offered(offers, vc.Name), ", "))
	}
	return &LaunchError{Reason: reason, conflict: true}
}

// describe is the build log line that says which image an app runs on and
// what was installed into it.
func (ch runtimeChoice) describe(runtime string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "runtime: %s", ch.name)
	for _, o := range ch.offers {
		if o.Name == ch.name {
			if v, ok := o.Packages[framework.EngineKey]; ok {
				lang := "python"
				if runtime == framework.RuntimeNode {
					lang = "node"
				}
				fmt.Fprintf(&b, " (%s %s)", lang, v)
			}
		}
	}
	if len(ch.install) > 0 {
		parts := make([]string, len(ch.install))
		for i, r := range ch.install {
			parts[i] = r.Name + r.Spec
			if runtime == framework.RuntimeNode && r.Spec != "" {
				parts[i] = r.Name + "@" + r.Spec
			}
			if have, ok := ch.replaced[r.Name]; ok {
				parts[i] += " (instead of its " + have + ")"
			}
		}
		b.WriteString("; installing " + strings.Join(parts, ", "))
	}
	return b.String()
}

// offeredText lists, for a failed install's message, the version of each
// of names every runtime image carries.
func offeredText(offers []framework.ImageOffer, names map[string]string) string {
	if len(offers) < 2 || len(names) == 0 {
		return ""
	}
	var parts []string
	for _, n := range framework.SortedNames(names) {
		parts = append(parts, n+" on "+strings.Join(framework.Offered(offers, n), ", "))
	}
	return " (available: " + strings.Join(parts, "; ") + ")"
}

// defaultChoice is the runtime of an app that declares no constraint: the
// runtime's default image ref. The image's packages are read ahead of
// launches (see imageCache.learn); the choice goes without them (its build
// line without the interpreter's version) when they cannot be.
func (c *imageCache) defaultChoice(ctx context.Context, ref string) runtimeChoice {
	ch := runtimeChoice{name: imageName(ref)}
	if id, err := c.backend.ImageID(ctx, ref); err == nil {
		if pkgs, err := c.installedIn(ctx, id); err == nil {
			ch.offers = []framework.ImageOffer{{Name: ch.name, Packages: pkgs}}
		}
	}
	return ch
}

// runtime is what the launch and status answers say of ch for an app of
// framework fw, before any install: the image, and the version of the
// framework's package it carries. (Installed packages are added by the
// caller, see withPackages.)
func (ch runtimeChoice) runtime(fw string) db.Runtime {
	rt := db.Runtime{Image: ch.name, Packages: map[string]string{}}
	for _, o := range ch.offers {
		if v, ok := o.Packages[fw]; ok && o.Name == ch.name {
			rt.Packages[fw] = v
		}
	}
	return rt
}
