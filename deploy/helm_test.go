package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

const (
	// helm runs from the Go module proxy, built once into the tools cache.
	helmVersion = "v3.22.0"
	helmPackage = "helm.sh/helm/v3/cmd/helm"

	chartDir       = "helm/lanyard"
	productionFile = "helm/lanyard/ci/production-values.yaml"
	kubeVersion    = "1.30.0"
	releaseName    = "lanyard"
	releaseNS      = "identity"
	monitoringAPI  = "monitoring.coreos.com/v1"
)

var helmTool struct {
	once       sync.Once
	path, skip string
	err        error
}

// helmBinary returns the helm binary: $LANYARD_HELM if set, else the one in
// the tools cache, built there from the Go module proxy on first use. It
// skips the test only when the proxy cannot be reached.
func helmBinary(t *testing.T) string {
	t.Helper()
	helmTool.once.Do(func() {
		helmTool.path, helmTool.skip, helmTool.err = findOrBuildHelm()
	})
	if helmTool.skip != "" {
		t.Skip(helmTool.skip)
	}
	if helmTool.err != nil {
		t.Fatal(helmTool.err)
	}
	return helmTool.path
}

// toolsDir is where built tools are kept: $LANYARD_TOOLS_DIR, else
// lanyard-tools in the user's cache directory (outside the repository, so
// it is never committed, and it survives fresh clones on the same machine).
func toolsDir() string {
	if d := os.Getenv("LANYARD_TOOLS_DIR"); d != "" {
		return d
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "lanyard-tools")
}

var proxyUnreachableRE = regexp.MustCompile(`(?i)dial tcp|no such host|connection refused|i/o timeout|network is unreachable|TLS handshake timeout|proxyconnect|GOPROXY=off|temporary failure in name resolution|server misbehaving`)

func findOrBuildHelm() (path, skip string, err error) {
	if p := os.Getenv("LANYARD_HELM"); p != "" {
		return p, "", nil
	}
	dir := toolsDir()
	path = filepath.Join(dir, "helm-"+helmVersion)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return path, "", nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	gobin, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(gobin)
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", "", fmt.Errorf("building helm needs the go command: %w", err)
	}
	start := time.Now()
	cmd := exec.Command(goTool, "install", helmPackage+"@"+helmVersion)
	cmd.Dir = gobin // outside the module: go install pkg@version ignores go.mod
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "CGO_ENABLED=0", "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		if proxyUnreachableRE.Match(out) {
			return "", fmt.Sprintf("Go module proxy unreachable, cannot build helm %s, so the Helm checks did not run: %s",
				helmVersion, lastLine(out)), nil
		}
		return "", "", fmt.Errorf("go install %s@%s: %v\n%s", helmPackage, helmVersion, err, out)
	}
	if err := os.Rename(filepath.Join(gobin, "helm"), path); err != nil {
		return "", "", err
	}
	fmt.Fprintf(os.Stderr, "deploy: built helm %s into %s in %s\n", helmVersion, path, time.Since(start).Round(time.Second))
	return path, "", nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// helm runs the helm binary with its state directories inside the test's
// temporary directory, so it neither reads nor writes the user's helm setup.
func helm(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(helmBinary(t), args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "kubeconfig"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.Bytes(), fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

func helmTemplate(t *testing.T, extra ...string) ([]byte, error) {
	t.Helper()
	args := append([]string{"template", releaseName, chartDir, "--namespace", releaseNS, "--kube-version", kubeVersion}, extra...)
	return helm(t, args...)
}

// TestHelmTool builds (or finds) the pinned helm; `make deploy-tools` runs it.
func TestHelmTool(t *testing.T) {
	out, err := helm(t, "version", "--short")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("helm %s at %s", strings.TrimSpace(string(out)), helmBinary(t))
}

// manifest is one rendered document, strictly decoded.
type manifest struct {
	source string // template file, from helm's "# Source:" comment
	kind   string // apiVersion/kind
	name   string
	obj    any
}

// kinds are the only resources the chart may render, each with its Go type.
// A Secret is deliberately absent: the chart never creates one.
var kinds = map[string]func() any{
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"batch/v1/Job":                            func() any { return &batchv1.Job{} },
	"policy/v1/PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"networking.k8s.io/v1/Ingress":            func() any { return &networkingv1.Ingress{} },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return &networkingv1.NetworkPolicy{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
}

var sourceRE = regexp.MustCompile(`(?m)^# Source: (.+)$`)

// decodeManifests splits helm's output into documents and decodes each into
// its Kubernetes API type the way the API server does: case-sensitive field
// names, and unknown or duplicate fields are errors.
func decodeManifests(t *testing.T, out []byte) []manifest {
	t.Helper()
	var ms []manifest
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("splitting helm output: %v", err)
		}
		source := "?"
		if m := sourceRE.FindSubmatch(doc); m != nil {
			source = string(m[1])
		}
		js, err := sigsyaml.YAMLToJSONStrict(doc)
		if err != nil {
			t.Errorf("%s: not valid YAML: %v", source, err)
			continue
		}
		if s := strings.TrimSpace(string(js)); s == "null" || s == "" {
			continue // an empty document (only comments)
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(js, &tm); err != nil {
			t.Errorf("%s: %v", source, err)
			continue
		}
		kind := tm.APIVersion + "/" + tm.Kind
		newObj, ok := kinds[kind]
		if !ok {
			t.Errorf("%s: unexpected kind %s", source, kind)
			continue
		}
		obj := newObj()
		strictErrs, err := kjson.UnmarshalStrict(js, obj)
		if err != nil {
			t.Errorf("%s: %s: %v", source, kind, err)
			continue
		}
		for _, e := range strictErrs {
			t.Errorf("%s: %s: %v", source, kind, e)
		}
		meta, _ := metaOf(obj)
		ms = append(ms, manifest{source: source, kind: tm.Kind, name: meta.Name, obj: obj})
	}
	return ms
}

func metaOf(obj any) (metav1.ObjectMeta, bool) {
	if o, ok := obj.(interface{ GetObjectMeta() metav1.Object }); ok {
		m := o.GetObjectMeta()
		return metav1.ObjectMeta{Name: m.GetName(), Namespace: m.GetNamespace(), Labels: m.GetLabels(), Annotations: m.GetAnnotations()}, true
	}
	return metav1.ObjectMeta{}, false
}

// scenario is one way of rendering the chart and what must come out.
type scenario struct {
	name         string
	args         []string
	counts       map[string]int
	antiAffinity map[string]string // role -> soft|hard
	egress       bool              // NetworkPolicies restrict egress
	secret       string
	hosts        []string // ingress hosts
	className    string
}

var scenarios = []scenario{
	{
		name:         "defaults",
		counts:       map[string]int{"Deployment": 3, "Service": 3, "ServiceAccount": 1, "Job": 1, "PodDisruptionBudget": 3, "NetworkPolicy": 4, "Ingress": 1},
		antiAffinity: map[string]string{"api": "soft", "dashboard": "soft", "worker": "soft"},
		secret:       "lanyard",
		hosts:        []string{"dashboard.example.com", "*.projects.example.com"},
	},
	{
		name:         "defaults with Prometheus Operator",
		args:         []string{"--api-versions", monitoringAPI},
		counts:       map[string]int{"Deployment": 3, "Service": 3, "ServiceAccount": 1, "Job": 1, "PodDisruptionBudget": 3, "NetworkPolicy": 4, "Ingress": 1, "ServiceMonitor": 1},
		antiAffinity: map[string]string{"api": "soft", "dashboard": "soft", "worker": "soft"},
		secret:       "lanyard",
		hosts:        []string{"dashboard.example.com", "*.projects.example.com"},
	},
	{
		name:         "production",
		args:         []string{"-f", productionFile, "--api-versions", monitoringAPI},
		counts:       map[string]int{"Deployment": 3, "Service": 3, "ServiceAccount": 1, "Job": 1, "PodDisruptionBudget": 3, "HorizontalPodAutoscaler": 3, "NetworkPolicy": 4, "Ingress": 1, "ServiceMonitor": 1},
		antiAffinity: map[string]string{"api": "hard", "dashboard": "hard", "worker": "soft"},
		egress:       true,
		secret:       "lanyard-production",
		hosts:        []string{"id.example.com", "*.projects.example.com", "login.customer-one.example.org"},
		className:    "nginx",
	},
	{
		name:         "production without Prometheus Operator",
		args:         []string{"-f", productionFile},
		counts:       map[string]int{"Deployment": 3, "Service": 3, "ServiceAccount": 1, "Job": 1, "PodDisruptionBudget": 3, "HorizontalPodAutoscaler": 3, "NetworkPolicy": 4, "Ingress": 1},
		antiAffinity: map[string]string{"api": "hard", "dashboard": "hard", "worker": "soft"},
		egress:       true,
		secret:       "lanyard-production",
		hosts:        []string{"id.example.com", "*.projects.example.com", "login.customer-one.example.org"},
		className:    "nginx",
	},
}

func TestHelmRender(t *testing.T) {
	helmBinary(t)
	known := configEnvNames(t)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			out, err := helmTemplate(t, sc.args...)
			if err != nil {
				t.Fatal(err)
			}
			ms := decodeManifests(t, out)
			checkRendered(t, sc, ms, known)
		})
	}
}

// roles of the chart and the ports the binary listens on for each.
var rolePorts = map[string]int32{"api": 4433, "dashboard": 4000, "worker": 4435}

func checkRendered(t *testing.T, sc scenario, ms []manifest, known map[string]bool) {
	counts := map[string]int{}
	deployments := map[string]*appsv1.Deployment{}
	services := map[string]*corev1.Service{}
	type pod struct {
		owner  string
		labels map[string]string
		spec   corev1.PodSpec
	}
	var pods []pod
	var hpas []*autoscalingv2.HorizontalPodAutoscaler
	seen := map[string]bool{}
	for _, m := range ms {
		counts[m.kind]++
		if seen[m.kind+"/"+m.name] {
			t.Errorf("%s %s rendered twice", m.kind, m.name)
		}
		seen[m.kind+"/"+m.name] = true
		meta, _ := metaOf(m.obj)
		for _, msg := range validation.IsDNS1123Subdomain(m.name) {
			t.Errorf("%s %s: name: %s", m.kind, m.name, msg)
		}
		if meta.Namespace != releaseNS {
			t.Errorf("%s %s: namespace %q, want the release namespace %q", m.kind, m.name, meta.Namespace, releaseNS)
		}
		checkLabels(t, m.kind+" "+m.name, meta.Labels)
		switch o := m.obj.(type) {
		case *appsv1.Deployment:
			deployments[o.Name] = o
			pods = append(pods, pod{"Deployment " + o.Name, o.Spec.Template.Labels, o.Spec.Template.Spec})
		case *batchv1.Job:
			pods = append(pods, pod{"Job " + o.Name, o.Spec.Template.Labels, o.Spec.Template.Spec})
			checkJob(t, o)
		case *corev1.Service:
			services[o.Name] = o
			for _, msg := range validation.IsDNS1035Label(o.Name) {
				t.Errorf("Service %s: name: %s", o.Name, msg)
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			hpas = append(hpas, o)
		}
	}
	if !maps_equal(counts, sc.counts) {
		t.Errorf("rendered kinds %v, want %v", counts, sc.counts)
	}

	// Every pod: non-root, read-only root filesystem, no token, known env.
	for _, p := range pods {
		checkPodSpec(t, p.owner, p.spec, sc.secret, known)
	}

	// Deployments: one per role, probes on /health/*, anti-affinity.
	for role, port := range rolePorts {
		name := releaseName + "-" + role
		d, ok := deployments[name]
		if !ok {
			t.Errorf("no Deployment %s", name)
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("Deployment %s: selector does not match its pod template (%v)", name, err)
		}
		c := d.Spec.Template.Spec.Containers[0]
		if len(c.Ports) != 1 || c.Ports[0].ContainerPort != port || c.Ports[0].Name != "http" {
			t.Errorf("Deployment %s: container ports %v, want http=%d", name, c.Ports, port)
		}
		for probeName, pr := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
			want := "/health/alive"
			if probeName == "readiness" {
				want = "/health/ready"
			}
			if pr == nil || pr.HTTPGet == nil {
				t.Errorf("Deployment %s: no HTTP %s probe", name, probeName)
			} else if pr.HTTPGet.Path != want || pr.HTTPGet.Port.String() != "http" {
				t.Errorf("Deployment %s: %s probe GET %s on port %s, want GET %s on port http", name, probeName, pr.HTTPGet.Path, pr.HTTPGet.Port.String(), want)
			}
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("Deployment %s: needs cpu and memory requests and a memory limit, got %v", name, c.Resources)
		}
		aff := d.Spec.Template.Spec.Affinity
		switch sc.antiAffinity[role] {
		case "hard":
			if aff == nil || aff.PodAntiAffinity == nil || len(aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 0 {
				t.Errorf("Deployment %s: want required pod anti-affinity", name)
			}
		case "soft":
			if aff == nil || aff.PodAntiAffinity == nil || len(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
				t.Errorf("Deployment %s: want preferred pod anti-affinity", name)
			}
		}
	}

	// HPAs target an existing Deployment, which then leaves replicas alone.
	for _, h := range hpas {
		d, ok := deployments[h.Spec.ScaleTargetRef.Name]
		if !ok || h.Spec.ScaleTargetRef.Kind != "Deployment" {
			t.Errorf("HorizontalPodAutoscaler %s: targets %v, which is not rendered", h.Name, h.Spec.ScaleTargetRef)
			continue
		}
		if d.Spec.Replicas != nil {
			t.Errorf("Deployment %s: sets replicas although an HPA scales it", d.Name)
		}
		if len(h.Spec.Metrics) == 0 || h.Spec.Metrics[0].Resource == nil || h.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU {
			t.Errorf("HorizontalPodAutoscaler %s: want a CPU metric", h.Name)
		}
	}

	// selects reports which pods a selector matches.
	selects := func(what string, sel *metav1.LabelSelector) []pod {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return nil
		}
		var matched []pod
		for _, p := range pods {
			if s.Matches(labels.Set(p.labels)) {
				matched = append(matched, p)
			}
		}
		if len(matched) == 0 {
			t.Errorf("%s: selector %v matches no pod", what, sel)
		}
		return matched
	}
	hasPort := func(p pod, name string) bool {
		for _, c := range p.spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == name {
					return true
				}
			}
		}
		return false
	}

	for _, m := range ms {
		switch o := m.obj.(type) {
		case *corev1.Service:
			for _, p := range selects("Service "+o.Name, &metav1.LabelSelector{MatchLabels: o.Spec.Selector}) {
				for _, sp := range o.Spec.Ports {
					if !hasPort(p, sp.TargetPort.String()) {
						t.Errorf("Service %s: targetPort %s is not a port of %s", o.Name, sp.TargetPort.String(), p.owner)
					}
				}
				if !strings.HasPrefix(p.owner, "Deployment ") {
					t.Errorf("Service %s selects %s", o.Name, p.owner)
				}
			}
		case *policyv1.PodDisruptionBudget:
			if n := len(selects("PodDisruptionBudget "+o.Name, o.Spec.Selector)); n != 1 {
				t.Errorf("PodDisruptionBudget %s: selects %d pod templates, want 1", o.Name, n)
			}
			if o.Spec.MinAvailable != nil {
				t.Errorf("PodDisruptionBudget %s: minAvailable can block node drains; use maxUnavailable", o.Name)
			}
		case *networkingv1.NetworkPolicy:
			matched := selects("NetworkPolicy "+o.Name, &o.Spec.PodSelector)
			for _, rule := range o.Spec.Ingress {
				for _, np := range rule.Ports {
					for _, p := range matched {
						if np.Port != nil && !hasPort(p, np.Port.String()) {
							t.Errorf("NetworkPolicy %s: port %s is not a port of %s", o.Name, np.Port.String(), p.owner)
						}
					}
				}
			}
			if strings.HasSuffix(o.Name, "-migrate") && len(o.Spec.Ingress) != 0 {
				t.Errorf("NetworkPolicy %s: the migration job accepts no connections", o.Name)
			}
			if got := slices.Contains(o.Spec.PolicyTypes, networkingv1.PolicyTypeEgress); got != sc.egress {
				t.Errorf("NetworkPolicy %s: restricts egress = %v, want %v", o.Name, got, sc.egress)
			}
		case *networkingv1.Ingress:
			checkIngress(t, sc, o, services)
		case *monitoringv1.ServiceMonitor:
			sel, err := metav1.LabelSelectorAsSelector(&o.Spec.Selector)
			if err != nil {
				t.Fatal(err)
			}
			var matched []string
			for _, s := range services {
				if sel.Matches(labels.Set(s.Labels)) {
					matched = append(matched, s.Name)
					for _, ep := range o.Spec.Endpoints {
						if !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
							t.Errorf("ServiceMonitor %s: Service %s has no port %q", o.Name, s.Name, ep.Port)
						}
					}
				}
			}
			if len(matched) != 3 {
				t.Errorf("ServiceMonitor %s: selects Services %v, want the 3 roles", o.Name, matched)
			}
			for _, ep := range o.Spec.Endpoints {
				if ep.Path != "/metrics" {
					t.Errorf("ServiceMonitor %s: path %q, want /metrics", o.Name, ep.Path)
				}
			}
		}
	}
}

func maps_equal(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func checkLabels(t *testing.T, what string, l map[string]string) {
	for k, v := range l {
		for _, msg := range validation.IsQualifiedName(k) {
			t.Errorf("%s: label key %q: %s", what, k, msg)
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			t.Errorf("%s: label %s=%q: %s", what, k, v, msg)
		}
	}
	for _, k := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by"} {
		if l[k] == "" {
			t.Errorf("%s: no %s label", what, k)
		}
	}
}

func checkPodSpec(t *testing.T, owner string, spec corev1.PodSpec, secret string, known map[string]bool) {
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: mounts a service account token; Lanyard does not use the Kubernetes API", owner)
	}
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("%s: pod must run as a non-root user", owner)
	}
	if len(spec.Containers) != 1 {
		t.Errorf("%s: %d containers, want 1", owner, len(spec.Containers))
	}
	for _, c := range spec.Containers {
		what := owner + " container " + c.Name
		if c.Image == "" || strings.HasSuffix(c.Image, ":latest") || strings.HasSuffix(c.Image, ":") {
			t.Errorf("%s: image %q is not pinned", what, c.Image)
		}
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: root filesystem is not read-only", what)
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allows privilege escalation", what)
		}
		if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s: does not drop all capabilities", what)
		}
		if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/tmp" }) {
			t.Errorf("%s: no writable /tmp", what)
		}
		if len(c.Args) == 0 || !slices.Contains([]string{"serve", "worker", "migrate"}, c.Args[0]) {
			t.Errorf("%s: args %q do not run a Lanyard role", what, c.Args)
		}
		names := map[string]bool{}
		for _, e := range c.Env {
			if names[e.Name] {
				t.Errorf("%s: env %s set twice", what, e.Name)
			}
			names[e.Name] = true
			if strings.HasPrefix(e.Name, "LANYARD_") && !known[e.Name] {
				t.Errorf("%s: env %s is not a setting of the binary (internal/config)", what, e.Name)
			}
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				ref := e.ValueFrom.SecretKeyRef
				if ref.Name != secret {
					t.Errorf("%s: env %s comes from Secret %q, want %q", what, e.Name, ref.Name, secret)
				}
				if ref.Key != e.Name && !(e.Name == "LANYARD_DATABASE_URL" && ref.Key == "LANYARD_MIGRATE_DATABASE_URL" && strings.HasPrefix(owner, "Job ")) {
					t.Errorf("%s: env %s comes from key %q; keys are named like the variables", what, e.Name, ref.Key)
				}
			}
		}
		for _, req := range []string{"LANYARD_SECRET", "LANYARD_DATABASE_URL", "LANYARD_REDIS_URL", "LANYARD_MODE"} {
			if !names[req] {
				t.Errorf("%s: env %s is not set", what, req)
			}
		}
	}
}

func checkJob(t *testing.T, j *batchv1.Job) {
	hooks := strings.Split(j.Annotations["helm.sh/hook"], ",")
	if !slices.Contains(hooks, "pre-install") || !slices.Contains(hooks, "pre-upgrade") {
		t.Errorf("Job %s: hooks %q, want pre-install and pre-upgrade", j.Name, hooks)
	}
	if j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("Job %s: restartPolicy %q, want Never", j.Name, j.Spec.Template.Spec.RestartPolicy)
	}
	if c := j.Spec.Template.Spec.Containers; len(c) == 0 || len(c[0].Args) == 0 || c[0].Args[0] != "migrate" {
		t.Errorf("Job %s: does not run `lanyard migrate`", j.Name)
	}
	if j.Spec.ActiveDeadlineSeconds == nil || j.Spec.BackoffLimit == nil {
		t.Errorf("Job %s: needs activeDeadlineSeconds and backoffLimit", j.Name)
	}
}

func checkIngress(t *testing.T, sc scenario, in *networkingv1.Ingress, services map[string]*corev1.Service) {
	var hosts []string
	tlsHosts := map[string]bool{}
	for _, tls := range in.Spec.TLS {
		if tls.SecretName == "" {
			t.Errorf("Ingress %s: TLS entry %v has no secretName", in.Name, tls.Hosts)
		}
		for _, h := range tls.Hosts {
			tlsHosts[h] = true
		}
	}
	for _, rule := range in.Spec.Rules {
		hosts = append(hosts, rule.Host)
		if !tlsHosts[rule.Host] {
			t.Errorf("Ingress %s: host %s has no TLS", in.Name, rule.Host)
		}
		if rule.HTTP == nil {
			t.Errorf("Ingress %s: host %s has no paths", in.Name, rule.Host)
			continue
		}
		for _, p := range rule.HTTP.Paths {
			b := p.Backend.Service
			if b == nil {
				t.Errorf("Ingress %s: host %s: no service backend", in.Name, rule.Host)
				continue
			}
			s, ok := services[b.Name]
			if !ok {
				t.Errorf("Ingress %s: host %s: backend Service %s is not rendered", in.Name, rule.Host, b.Name)
				continue
			}
			if !slices.ContainsFunc(s.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.Name == b.Port.Name }) {
				t.Errorf("Ingress %s: host %s: Service %s has no port %q", in.Name, rule.Host, b.Name, b.Port.Name)
			}
			wantRole := "-api"
			if rule.Host == sc.hosts[0] {
				wantRole = "-dashboard"
			}
			if !strings.HasSuffix(b.Name, wantRole) {
				t.Errorf("Ingress %s: host %s goes to %s, want the %s role", in.Name, rule.Host, b.Name, strings.TrimPrefix(wantRole, "-"))
			}
		}
	}
	if !slices.Equal(hosts, sc.hosts) {
		t.Errorf("Ingress %s: hosts %v, want %v", in.Name, hosts, sc.hosts)
	}
	got := ""
	if in.Spec.IngressClassName != nil {
		got = *in.Spec.IngressClassName
	}
	if got != sc.className {
		t.Errorf("Ingress %s: class %q, want %q", in.Name, got, sc.className)
	}
}

// chartSettings are the settings the chart has a value or Secret key for.
// A setting added to the binary later need not be here: operators can pass
// it with extraEnv until the chart grows a value for it.
var chartSettings = []string{
	"LANYARD_MODE", "LANYARD_SECRET", "LANYARD_DATABASE_URL", "LANYARD_DB_MAX_CONNS",
	"LANYARD_REDIS_URL", "LANYARD_REDIS_NAMESPACE", "LANYARD_API_ADDR", "LANYARD_DASHBOARD_ADDR",
	"LANYARD_WORKER_ADDR", "LANYARD_PROJECTS_DOMAIN", "LANYARD_PROJECTS_URL", "LANYARD_PUBLIC_SCHEME",
	"LANYARD_SPARE_SCHEMAS", "LANYARD_LOG_LEVEL", "LANYARD_LOG_FORMAT", "LANYARD_BODY_LIMIT",
	"LANYARD_SHUTDOWN_TIMEOUT", "LANYARD_SMTP_URL", "LANYARD_MAIL_FROM", "LANYARD_STRIPE_SECRET_KEY",
	"LANYARD_STRIPE_WEBHOOK_SECRET", "LANYARD_STRIPE_API_BASE", "LANYARD_HASH_ALGORITHM",
	"LANYARD_ARGON2_MEMORY", "LANYARD_ARGON2_ITERATIONS", "LANYARD_ARGON2_PARALLELISM", "LANYARD_BCRYPT_COST",
	"LANYARD_DASHBOARD_URL", "LANYARD_HOOK_LOG_RETENTION",
}

// TestHelmEnvCoversSettings: with every plain setting given a value, each
// of chartSettings reaches a pod, and each is still a setting of the binary.
func TestHelmEnvCoversSettings(t *testing.T) {
	out, err := helmTemplate(t,
		"--set", "config.projectsURL=https://{slug}.id.example.com",
		"--set", "config.mailFrom=Identity <no-reply@example.com>",
		"--set", "config.stripeAPIBase=http://stripe-mock:12111",
		"--set", "config.redisNamespace=prod",
		"--set", "config.spareSchemas=20",
		"--set", "config.hash.algorithm=argon2id",
		"--set", "config.hash.argon2Memory=65536",
		"--set", "config.hash.argon2Iterations=3",
		"--set", "config.hash.argon2Parallelism=2",
		"--set", "config.hash.bcryptCost=13",
		"--set", "config.hookLogRetention=168h",
	)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, m := range decodeManifests(t, out) {
		if d, ok := m.obj.(*appsv1.Deployment); ok {
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				set[e.Name] = true
			}
		}
	}
	known := configEnvNames(t)
	for _, name := range chartSettings {
		if !known[name] {
			t.Errorf("%s is no longer a setting of the binary (internal/config): remove it from the chart", name)
		}
		if !set[name] {
			t.Errorf("the chart gives no value for %s", name)
		}
	}
}

// TestHelmSchemaRejectsBadValues: values.schema.json turns mistakes into
// errors before anything is rendered.
func TestHelmSchemaRejectsBadValues(t *testing.T) {
	helmBinary(t)
	bad := map[string]string{
		"unknown top-level key":      "replicas: 3\n",
		"unknown role key":           "api:\n  replica: 3\n",
		"replicas not a number":      "api:\n  replicaCount: three\n",
		"unknown mode":               "config:\n  mode: prod\n",
		"empty secret name":          "existingSecret: \"\"\n",
		"projects URL without slug":  "config:\n  projectsURL: https://id.example.com/\n",
		"digest not sha256":          "image:\n  digest: latest\n",
		"unknown anti-affinity mode": "worker:\n  podAntiAffinity: sometimes\n",
		"egress restrict not bool":   "networkPolicy:\n  egress:\n    restrict: \"yes\"\n",
		"pool too small":             "config:\n  dbMaxConns: 1\n",
		"custom domain without TLS":  "ingress:\n  projects:\n    tlsSecretName: x\n    customDomains:\n      - host: login.example.org\n",
	}
	for name, values := range bad {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "values.yaml")
			if err := os.WriteFile(file, []byte(values), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := helmTemplate(t, "-f", file)
			if err == nil {
				t.Fatalf("helm accepted bad values:\n%s", values)
			}
			if !strings.Contains(err.Error(), "values don't meet the specifications of the schema") {
				t.Fatalf("helm failed, but not on the schema: %v", err)
			}
		})
	}
}

// TestHelmLint: helm lint --strict passes with the default and the
// production values.
func TestHelmLint(t *testing.T) {
	helmBinary(t)
	for name, args := range map[string][]string{
		"defaults":   nil,
		"production": {"-f", productionFile},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := helm(t, append([]string{"lint", chartDir, "--strict", "--kube-version", kubeVersion, "--namespace", releaseNS}, args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}
