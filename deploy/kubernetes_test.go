// Package deploy holds no code: its tests check the deployment files in
// this directory against what yujing does with them (scripts/check-deploy.sh
// runs them with the tools that check the files' syntax and schema).
package deploy

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"yujing/config"
)

// object is the part of a Kubernetes manifest these tests read.
type object struct {
	File     string
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec yaml.Node         `yaml:"spec"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type containerPort struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
}

type deploymentSpec struct {
	Replicas *int          `yaml:"replicas"`
	Selector labelSelector `yaml:"selector"`
	Template struct {
		Metadata struct {
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec struct {
			Containers []struct {
				Name  string          `yaml:"name"`
				Ports []containerPort `yaml:"ports"`
			} `yaml:"containers"`
		} `yaml:"spec"`
	} `yaml:"template"`
}

type serviceSpec struct {
	Selector map[string]string `yaml:"selector"`
	Ports    []struct {
		Name       string    `yaml:"name"`
		Port       int       `yaml:"port"`
		TargetPort yaml.Node `yaml:"targetPort"`
	} `yaml:"ports"`
}

type pdbSpec struct {
	MaxUnavailable yaml.Node      `yaml:"maxUnavailable"` // Kind 0: not set
	MinAvailable   yaml.Node      `yaml:"minAvailable"`
	Selector       *labelSelector `yaml:"selector"`
}

// loadManifests reads every document of every YAML file in dir.
func loadManifests(t *testing.T, dir string) []object {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", dir, err)
	}
	var objs []object
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(f)
		for {
			var o object
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if o.Kind != "" {
				o.File = path
				objs = append(objs, o)
			}
		}
		f.Close()
	}
	return objs
}

func (o object) decodeSpec(t *testing.T, v any) {
	t.Helper()
	if err := o.Spec.Decode(v); err != nil {
		t.Fatalf("%s: %s %s: spec: %v", o.File, o.Kind, o.Metadata.Name, err)
	}
}

func byKind(objs []object, kind string) []object {
	var out []object
	for _, o := range objs {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// selects reports whether every label of the selector is among labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// dummyEnv stands in for the Secret's values in the ConfigMap's ${VAR}s.
func dummyEnv(name string) (string, bool) {
	if name == "WEBHOOK_URL" {
		return "https://127.0.0.1:9/hook", true
	}
	return "dummy-" + strings.ToLower(name), true
}

// listeners returns the ports that yujing, run with the ConfigMap's
// configuration, listens on, each with what listens there.
func listeners(t *testing.T, objs []object) map[int]string {
	t.Helper()
	var cfg *config.Config
	for _, cm := range byKind(objs, "ConfigMap") {
		data, ok := cm.Data["yujing.yaml"]
		if !ok {
			continue
		}
		c, err := config.Parse(cm.File+": data.yujing.yaml", []byte(data), config.Options{LookupEnv: dummyEnv})
		if err != nil {
			t.Fatal(err)
		}
		cfg = c
	}
	if cfg == nil {
		t.Fatal("no ConfigMap with data.yujing.yaml")
	}
	out := map[int]string{}
	add := func(what, addr string) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("%s %q: %v", what, addr, err)
		}
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			// Reachable from inside the pod only: nothing to expose.
			t.Logf("%s listens on %s: loopback, not a container port", what, addr)
			return
		}
		n, err := strconv.Atoi(port)
		if err != nil {
			t.Fatalf("%s %q: port: %v", what, addr, err)
		}
		out[n] = fmt.Sprintf("%s on %s", what, addr)
	}
	add("http.listen", cfg.HTTPListen)
	if cfg.EmbeddedListen != "" {
		add("the embedded MQTT broker", cfg.EmbeddedListen)
	} else {
		t.Logf("no embedded broker: mqtt.broker is %s", cfg.MQTT.Broker)
	}
	return out
}

// TestKubernetesPortsMatchConfig checks that the container and the Service
// expose exactly the ports that yujing listens on with the ConfigMap's
// configuration: no port that nothing answers on (the embedded broker's
// 1883 when mqtt.broker names an external one), none missing.
func TestKubernetesPortsMatchConfig(t *testing.T) {
	objs := loadManifests(t, "kubernetes")
	listen := listeners(t, objs)

	deps := byKind(objs, "Deployment")
	if len(deps) != 1 {
		t.Fatalf("got %d Deployments, want 1", len(deps))
	}
	var dep deploymentSpec
	deps[0].decodeSpec(t, &dep)
	ports := map[string]int{} // container port name and number → number
	numbers := map[int]bool{}
	for _, c := range dep.Template.Spec.Containers {
		for _, p := range c.Ports {
			if _, ok := listen[p.ContainerPort]; !ok {
				t.Errorf("%s: container %s port %d (%s): yujing does not listen on it with the ConfigMap's configuration (it listens on %v)",
					deps[0].File, c.Name, p.ContainerPort, p.Name, listen)
			}
			ports[p.Name] = p.ContainerPort
			ports[strconv.Itoa(p.ContainerPort)] = p.ContainerPort
			numbers[p.ContainerPort] = true
		}
	}
	for port, what := range listen {
		if !numbers[port] {
			t.Errorf("%s: no container port for %d (%s)", deps[0].File, port, what)
		}
	}

	svcs := byKind(objs, "Service")
	if len(svcs) == 0 {
		t.Fatal("no Service")
	}
	for _, s := range svcs {
		var spec serviceSpec
		s.decodeSpec(t, &spec)
		if !selects(spec.Selector, dep.Template.Metadata.Labels) {
			t.Errorf("%s: Service %s selects %v, not the Deployment's pods %v", s.File, s.Metadata.Name, spec.Selector, dep.Template.Metadata.Labels)
		}
		for _, p := range spec.Ports {
			target := p.TargetPort.Value
			if target == "" {
				target = strconv.Itoa(p.Port)
			}
			if _, ok := ports[target]; !ok {
				t.Errorf("%s: Service %s port %d (%s) targets %q: no such container port", s.File, s.Metadata.Name, p.Port, p.Name, target)
			}
		}
	}
}

// scaled is an int-or-percent of replicas, rounded up as the disruption
// controller does (intstr.GetScaledValueFromIntOrPercent(…, true)).
func scaled(n yaml.Node, replicas int) (int, error) {
	if p, ok := strings.CutSuffix(n.Value, "%"); ok && n.Tag == "!!str" {
		v, err := strconv.Atoi(p)
		if err != nil {
			return 0, err
		}
		return int(math.Ceil(float64(v) * float64(replicas) / 100)), nil
	}
	if n.Tag != "!!int" {
		return 0, fmt.Errorf("%q is neither an integer nor a percentage", n.Value)
	}
	return strconv.Atoi(n.Value)
}

// allowedDisruptions is how many of replicas healthy pods the budget lets
// an eviction (a node drain) take down at once.
func allowedDisruptions(spec pdbSpec, replicas int) (int, error) {
	switch {
	case spec.MaxUnavailable.Kind != 0 && spec.MinAvailable.Kind != 0:
		return 0, errors.New("both minAvailable and maxUnavailable")
	case spec.MaxUnavailable.Kind != 0:
		v, err := scaled(spec.MaxUnavailable, replicas)
		return min(v, replicas), err
	case spec.MinAvailable.Kind != 0:
		v, err := scaled(spec.MinAvailable, replicas)
		return max(replicas-v, 0), err
	}
	return replicas, nil
}

// TestPodDisruptionBudgetAllowsDrain checks that each PodDisruptionBudget
// selects the Deployment's pods and lets a node drain evict one of them,
// while keeping the others serving once there are several: for the
// manifest's replicas and for a few more (issue 16 plans three).
func TestPodDisruptionBudgetAllowsDrain(t *testing.T) {
	objs := loadManifests(t, "kubernetes")
	pdbs := byKind(objs, "PodDisruptionBudget")
	if len(pdbs) == 0 {
		t.Fatal("no PodDisruptionBudget")
	}
	for _, pdb := range pdbs {
		var spec pdbSpec
		pdb.decodeSpec(t, &spec)
		var dep *deploymentSpec
		for _, d := range byKind(objs, "Deployment") {
			var ds deploymentSpec
			d.decodeSpec(t, &ds)
			if spec.Selector != nil && selects(spec.Selector.MatchLabels, ds.Template.Metadata.Labels) {
				dep = &ds
			}
		}
		if dep == nil {
			t.Errorf("%s: PodDisruptionBudget %s selects no Deployment's pods", pdb.File, pdb.Metadata.Name)
			continue
		}
		replicas := 1
		if dep.Replicas != nil {
			replicas = *dep.Replicas
		}
		counts := []int{replicas, 1, 2, 3, 5}
		slices.Sort(counts)
		for _, n := range slices.Compact(counts) {
			t.Run(fmt.Sprintf("%s/replicas=%d", pdb.Metadata.Name, n), func(t *testing.T) {
				allowed, err := allowedDisruptions(spec, n)
				switch {
				case err != nil:
					t.Errorf("%s: PodDisruptionBudget %s: %v", pdb.File, pdb.Metadata.Name, err)
				case allowed < 1:
					t.Errorf("%s: PodDisruptionBudget %s allows no eviction of %d replicas: every node drain blocks", pdb.File, pdb.Metadata.Name, n)
				case n > 1 && allowed >= n:
					t.Errorf("%s: PodDisruptionBudget %s lets a drain evict all %d replicas at once", pdb.File, pdb.Metadata.Name, n)
				}
			})
		}
	}
}

func TestAllowedDisruptions(t *testing.T) {
	node := func(tag, v string) yaml.Node { return yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v} }
	tests := []struct {
		name     string
		spec     pdbSpec
		replicas int
		want     int
	}{
		{"maxUnavailable 0 blocks", pdbSpec{MaxUnavailable: node("!!int", "0")}, 1, 0},
		{"maxUnavailable 1 of 1", pdbSpec{MaxUnavailable: node("!!int", "1")}, 1, 1},
		{"maxUnavailable 1 of 3", pdbSpec{MaxUnavailable: node("!!int", "1")}, 3, 1},
		{"maxUnavailable 2 of 1", pdbSpec{MaxUnavailable: node("!!int", "2")}, 1, 1},
		{"maxUnavailable 50% of 3 rounds up", pdbSpec{MaxUnavailable: node("!!str", "50%")}, 3, 2},
		{"minAvailable 1 of 1 blocks", pdbSpec{MinAvailable: node("!!int", "1")}, 1, 0},
		{"minAvailable 1 of 3", pdbSpec{MinAvailable: node("!!int", "1")}, 3, 2},
		{"minAvailable 100% blocks", pdbSpec{MinAvailable: node("!!str", "100%")}, 3, 0},
		{"minAvailable 50% of 3 rounds up", pdbSpec{MinAvailable: node("!!str", "50%")}, 3, 1},
		{"no budget", pdbSpec{}, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := allowedDisruptions(tt.spec, tt.replicas)
			if err != nil || got != tt.want {
				t.Errorf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	if _, err := allowedDisruptions(pdbSpec{MaxUnavailable: node("!!int", "1"), MinAvailable: node("!!int", "1")}, 1); err == nil {
		t.Error("both minAvailable and maxUnavailable: no error")
	}
	if _, err := allowedDisruptions(pdbSpec{MaxUnavailable: node("!!str", "one")}, 1); err == nil {
		t.Error(`maxUnavailable "one": no error`)
	}
}
