package deploy

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"

	"github.com/lanyard-id/lanyard/internal/buildinfo"
)

// The linker flag that stamps the version: it must name a real variable.
const versionLDFlag = "-X github.com/lanyard-id/lanyard/internal/buildinfo.Version="

var _ = buildinfo.Version // compile-time proof that the variable exists

// parseDockerfile parses deploy/Dockerfile with BuildKit's own parser and
// lints it; see parseDockerfileText.
func parseDockerfile(t *testing.T) ([]instructions.Stage, []instructions.ArgCommand, []string) {
	t.Helper()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	return parseDockerfileText(t, string(b))
}

// parseDockerfileText parses a Dockerfile with BuildKit's parser and returns
// its stages and every lint warning: the parser's own, BuildKit's rules that
// run at parse time (StageNameCasing, FromAsCasing, MaintainerDeprecated),
// and checks written here for the `docker build --check` rules that BuildKit
// runs only while converting a build (ConsistentInstructionCasing,
// JSONArgsRecommended, LegacyKeyValueFormat, UndefinedArgInFrom). Those live
// in a package that would pull gRPC and containerd into go.mod.
func parseDockerfileText(t *testing.T, text string) ([]instructions.Stage, []instructions.ArgCommand, []string) {
	t.Helper()
	res, err := parser.Parse(strings.NewReader(text))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	var warnings []string
	warn := func(line int, rule, msg string) {
		warnings = append(warnings, fmt.Sprintf("line %d: %s: %s", line, rule, msg))
	}
	for _, w := range res.Warnings {
		warn(w.Location.Start.Line, "Parser", w.Short)
	}
	lint := linter.New(&linter.Config{
		Warn: func(rule, desc, url, msg string, loc []parser.Range) {
			line := 0
			if len(loc) > 0 {
				line = loc[0].Start.Line
			}
			warn(line, rule, msg)
		},
	})
	// ConsistentInstructionCasing: every instruction in upper case.
	for _, n := range res.AST.Children {
		word, _, _ := strings.Cut(strings.TrimSpace(n.Original), " ")
		if word != strings.ToUpper(word) {
			warn(n.StartLine, "ConsistentInstructionCasing", fmt.Sprintf("%q is not upper case", word))
		}
	}
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	declared := map[string]bool{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			declared[kv.Key] = true
		}
	}
	line := func(c instructions.Command) int {
		if l, ok := c.(interface{ Location() []parser.Range }); ok && len(l.Location()) > 0 {
			return l.Location()[0].Start.Line
		}
		return 0
	}
	argRE := regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
	for _, st := range stages {
		// UndefinedArgInFrom: FROM only sees ARGs declared before the first FROM.
		for _, m := range argRE.FindAllStringSubmatch(st.BaseName+" "+st.Platform, -1) {
			if !declared[m[1]] && !buildkitPlatformArgs[m[1]] {
				warn(st.Location[0].Start.Line, "UndefinedArgInFrom", "FROM uses $"+m[1]+", which no ARG before the first FROM declares")
			}
		}
		for _, c := range st.Commands {
			switch c := c.(type) {
			case *instructions.CmdCommand:
				if c.PrependShell {
					warn(line(c), "JSONArgsRecommended", "use the JSON form of CMD")
				}
			case *instructions.EntrypointCommand:
				if c.PrependShell {
					warn(line(c), "JSONArgsRecommended", "use the JSON form of ENTRYPOINT")
				}
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					if kv.NoDelim {
						warn(line(c), "LegacyKeyValueFormat", "use ENV key=value")
					}
				}
			case *instructions.LabelCommand:
				for _, kv := range c.Labels {
					if kv.NoDelim {
						warn(line(c), "LegacyKeyValueFormat", "use LABEL key=value")
					}
				}
			}
		}
	}
	return stages, metaArgs, warnings
}

// buildkitPlatformArgs are the ARGs BuildKit defines for every FROM.
var buildkitPlatformArgs = map[string]bool{"BUILDPLATFORM": true, "TARGETPLATFORM": true, "BUILDOS": true, "BUILDARCH": true, "TARGETOS": true, "TARGETARCH": true}

func TestDockerfileLint(t *testing.T) {
	_, _, warnings := parseDockerfile(t)
	for _, w := range warnings {
		t.Errorf("Dockerfile lint: %s", w)
	}
}

// TestDockerfileLintCatches proves the lint is wired up: a Dockerfile with
// known mistakes gets warnings.
func TestDockerfileLintCatches(t *testing.T) {
	_, _, warnings := parseDockerfileText(t, "ARG V=3\nfrom alpine:$V AS Base\nMAINTAINER someone\nENV A 1\nLABEL b 2\nENTRYPOINT /bin/true\nFROM scratch:$W AS second\nCMD run\n")
	all := strings.Join(warnings, "\n")
	for _, rule := range []string{"ConsistentInstructionCasing", "FromAsCasing", "StageNameCasing", "MaintainerDeprecated", "LegacyKeyValueFormat", "JSONArgsRecommended", "UndefinedArgInFrom"} {
		if !strings.Contains(all, rule) {
			t.Errorf("lint did not report %s; got:\n%s", rule, all)
		}
	}
}

func TestDockerfileStructure(t *testing.T) {
	stages, _, _ := parseDockerfile(t)
	if len(stages) < 3 {
		t.Fatalf("want a node, a Go and a runtime stage, got %d stages", len(stages))
	}
	names := map[string]bool{}
	var sawNode, sawGo bool
	for i, st := range stages {
		if strings.HasPrefix(st.BaseName, "node:") {
			sawNode = true
		}
		if strings.HasPrefix(st.BaseName, "golang:") {
			sawGo = true
			checkGoBuild(t, st)
		}
		for _, c := range st.Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" && !names[cp.From] {
				t.Errorf("stage %d: COPY --from=%s names no earlier stage", i, cp.From)
			}
			if add, ok := c.(*instructions.AddCommand); ok {
				t.Errorf("stage %d: use COPY, not ADD (%s)", i, add.String())
			}
		}
		if st.Name != "" {
			names[st.Name] = true
		}
		if strings.HasSuffix(st.BaseName, ":latest") || !strings.Contains(st.BaseName, ":") && st.BaseName != "scratch" {
			t.Errorf("stage %d: base image %q is not pinned to a tag", i, st.BaseName)
		}
	}
	if !sawNode {
		t.Error("no node stage builds the dashboard app")
	}
	if !sawGo {
		t.Error("no golang stage builds the binary")
	}
	checkRuntimeStage(t, stages[len(stages)-1])
}

// checkGoBuild: the Go stage builds a static, trimmed, stamped binary.
func checkGoBuild(t *testing.T, st instructions.Stage) {
	t.Helper()
	cgoOff := false
	var build string
	for _, c := range st.Commands {
		switch c := c.(type) {
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				if kv.Key == "CGO_ENABLED" && kv.Value == "0" {
					cgoOff = true
				}
			}
		case *instructions.RunCommand:
			line := strings.Join(c.CmdLine, " ")
			if strings.Contains(line, "go build") {
				build = line
			}
		}
	}
	if build == "" {
		t.Fatal("golang stage: no RUN with go build")
	}
	if strings.Contains(build, "CGO_ENABLED=0") {
		cgoOff = true
	}
	if !cgoOff {
		t.Error("golang stage: CGO_ENABLED=0 is not set")
	}
	for _, want := range []string{"-trimpath", "-tags=nomsgpack", "-s -w", versionLDFlag, "./cmd/lanyard"} {
		if !strings.Contains(build, want) {
			t.Errorf("golang stage: go build lacks %q:\n%s", want, build)
		}
	}
}

// checkRuntimeStage: distroless or scratch, a non-root user, a HEALTHCHECK
// that needs no shell, and lanyard as the entrypoint.
func checkRuntimeStage(t *testing.T, st instructions.Stage) {
	t.Helper()
	if !strings.HasPrefix(st.BaseName, "gcr.io/distroless/static") && st.BaseName != "scratch" {
		t.Errorf("runtime stage: base %q is neither distroless/static nor scratch", st.BaseName)
	}
	var user string
	var health *instructions.HealthCheckCommand
	var entry *instructions.EntrypointCommand
	for _, c := range st.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.HealthCheckCommand:
			health = c
		case *instructions.EntrypointCommand:
			entry = c
		case *instructions.RunCommand:
			t.Errorf("runtime stage: RUN needs a shell, which the image does not have: %s", c.String())
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if user == "" || uid == "0" || uid == "root" {
		t.Errorf("runtime stage: USER is %q; want a non-root user", user)
	}
	if health == nil || health.Health == nil || len(health.Health.Test) < 3 {
		t.Fatal("runtime stage: no HEALTHCHECK CMD")
	}
	if health.Health.Test[0] != "CMD" || health.Health.Test[2] != "healthcheck" {
		t.Errorf("runtime stage: HEALTHCHECK must be exec form running `lanyard healthcheck`, got %q", health.Health.Test)
	}
	if entry == nil || entry.PrependShell || len(entry.CmdLine) != 1 || filepath.Base(entry.CmdLine[0]) != "lanyard" {
		t.Errorf("runtime stage: ENTRYPOINT must be the exec form [\".../lanyard\"]")
	} else if health.Health.Test[1] != entry.CmdLine[0] {
		t.Errorf("runtime stage: HEALTHCHECK runs %s but the binary is %s", health.Health.Test[1], entry.CmdLine[0])
	}
}

// TestDockerfileContext: what the Dockerfile copies from the build context is
// not excluded by the root .dockerignore, and secrets and VCS data are.
func TestDockerfileContext(t *testing.T) {
	f, err := os.Open(filepath.Join("..", ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var patterns []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	for path, wantIgnored := range map[string]bool{
		"go.mod":                            false,
		"go.sum":                            false,
		"cmd/lanyard/main.go":               false,
		"internal/buildinfo/buildinfo.go":   false,
		"migrations/platform/0001_init.sql": false,
		"dashboard/web/package.json":        false,
		"dashboard/web/package-lock.json":   false,
		"dashboard/web/src/main.tsx":        false,
		"dashboard/web/dist/index.html":     false,
		".git/config":                       true,
		".env":                              true,
		"deploy/.env":                       true,
		"dashboard/web/node_modules/x/a.js": true,
		"bin/lanyard-static":                true,
	} {
		ignored, err := pm.MatchesOrParentMatches(path)
		if err != nil {
			t.Fatal(err)
		}
		if ignored != wantIgnored {
			t.Errorf(".dockerignore: %s ignored=%v, want %v", path, ignored, wantIgnored)
		}
	}
}

// TestDockerfileMatchesMakefile: `make build-static` builds with the same
// flags as the image.
func TestDockerfileMatchesMakefile(t *testing.T) {
	b, err := os.ReadFile("deploy.mk")
	if err != nil {
		t.Fatal(err)
	}
	mk := string(b)
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-buildvcs=false", "-tags=$(DEPLOY_GOTAGS)", "DEPLOY_GOTAGS     := nomsgpack", "-s -w " + versionLDFlag, "./cmd/lanyard", "bin/lanyard-static"} {
		if !strings.Contains(mk, want) {
			t.Errorf("deploy.mk lacks %q", want)
		}
	}
	for _, target := range []string{"build-static:", "image:", "lint-deploy:"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target)).MatchString(mk) {
			t.Errorf("deploy.mk has no %s target", target)
		}
	}
}
