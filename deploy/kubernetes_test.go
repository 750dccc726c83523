// Package deploy holds no code: its tests check the deployment files in
// this directory against what yujing does with them (scripts/check-deploy.sh
// runs them with the tools that check the files' syntax and schema).
package deploy

import (
	"encoding/base64"
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
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"` // a Secret's
	Spec       yaml.Node         `yaml:"spec"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type containerPort struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
}

type volumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
}

type volume struct {
	Name   string `yaml:"name"`
	Secret *struct {
		SecretName string `yaml:"secretName"`
		Items      []struct {
			Key  string `yaml:"key"`
			Path string `yaml:"path"`
		} `yaml:"items"`
	} `yaml:"secret"`
}

// workloadSpec is the part of a Deployment's or StatefulSet's spec these
// tests read.
type workloadSpec struct {
	Replicas *int          `yaml:"replicas"`
	Selector labelSelector `yaml:"selector"`
	Template struct {
		Metadata struct {
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec struct {
			Containers []struct {
				Name         string          `yaml:"name"`
				Ports        []containerPort `yaml:"ports"`
				VolumeMounts []volumeMount   `yaml:"volumeMounts"`
			} `yaml:"containers"`
			Volumes []volume `yaml:"volumes"`
		} `yaml:"spec"`
	} `yaml:"template"`
}

func (w workloadSpec) replicas() int {
	if w.Replicas == nil {
		return 1
	}
	return *w.Replicas
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

func byKind(objs []object, kinds ...string) []object {
	var out []object
	for _, o := range objs {
		if slices.Contains(kinds, o.Kind) {
			out = append(out, o)
		}
	}
	return out
}

// workload returns the one Deployment or StatefulSet that runs yujing.
func workload(t *testing.T, objs []object) (object, workloadSpec) {
	t.Helper()
	ws := byKind(objs, "Deployment", "StatefulSet")
	if len(ws) != 1 {
		t.Fatalf("got %d Deployments and StatefulSets, want 1", len(ws))
	}
	var spec workloadSpec
	ws[0].decodeSpec(t, &spec)
	return ws[0], spec
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

// secretValue returns key of the Secret named name among objs.
func secretValue(objs []object, name, key string) (string, error) {
	for _, s := range byKind(objs, "Secret") {
		if s.Metadata.Name != name {
			continue
		}
		if v, ok := s.StringData[key]; ok {
			return v, nil
		}
		if v, ok := s.Data[key]; ok {
			b, err := base64.StdEncoding.DecodeString(v)
			return string(b), err
		}
		return "", fmt.Errorf("%s: Secret %s has no key %s", s.File, name, key)
	}
	return "", fmt.Errorf("no Secret %s", name)
}

// mountedSecret returns what the workload's container finds at path: the
// key of a Secret it mounts there (path is a volume's mountPath plus the
// key, or plus an item's path).
func mountedSecret(objs []object, w workloadSpec, path string) (string, error) {
	volumes := map[string]volume{}
	for _, v := range w.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	for _, c := range w.Template.Spec.Containers {
		for _, m := range c.VolumeMounts {
			rel, ok := strings.CutPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/")
			v := volumes[m.Name]
			if !ok || v.Secret == nil {
				continue
			}
			key := rel
			if len(v.Secret.Items) > 0 {
				key = ""
				for _, it := range v.Secret.Items {
					if it.Path == rel {
						key = it.Key
					}
				}
			}
			if key == "" || strings.Contains(key, "/") {
				return "", fmt.Errorf("container %s mounts Secret %s at %s, but not as %s", c.Name, v.Secret.SecretName, m.MountPath, path)
			}
			return secretValue(objs, v.Secret.SecretName, key)
		}
	}
	return "", fmt.Errorf("no container mounts a Secret at %s", path)
}

// configMapConfig parses the ConfigMap's yujing.yaml as a pod of the
// workload reads it: the Secret's values for its ${VAR}s (dummies) and,
// for state.url_file, the Secret the pod mounts there, copied to a file of
// the test's (config.Parse reads the file).
func configMapConfig(t *testing.T, objs []object) (*config.Config, string) {
	t.Helper()
	_, w := workload(t, objs)
	for _, cm := range byKind(objs, "ConfigMap") {
		data, ok := cm.Data["yujing.yaml"]
		if !ok {
			continue
		}
		var raw struct {
			State *struct {
				URLFile string `yaml:"url_file"`
			} `yaml:"state"`
		}
		if err := yaml.Unmarshal([]byte(data), &raw); err != nil {
			t.Fatalf("%s: data.yujing.yaml: %v", cm.File, err)
		}
		urlFile := ""
		if raw.State != nil && raw.State.URLFile != "" {
			urlFile = raw.State.URLFile
			v, err := mountedSecret(objs, w, urlFile)
			if err != nil {
				t.Fatalf("%s: state.url_file %s: %v", cm.File, urlFile, err)
			}
			copied := filepath.Join(t.TempDir(), "url")
			if err := os.WriteFile(copied, []byte(v+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			line := "url_file: " + urlFile
			if strings.Count(data, line) != 1 {
				t.Fatalf("%s: %q not once in data.yujing.yaml", cm.File, line)
			}
			data = strings.Replace(data, line, "url_file: "+copied, 1)
		}
		cfg, err := config.Parse(cm.File+": data.yujing.yaml", []byte(data), config.Options{LookupEnv: dummyEnv})
		if err != nil {
			t.Fatal(err)
		}
		return cfg, urlFile
	}
	t.Fatal("no ConfigMap with data.yujing.yaml")
	return nil, ""
}

// listeners returns the ports that yujing, run with the ConfigMap's
// configuration, listens on, each with what listens there.
func listeners(t *testing.T, objs []object) map[int]string {
	t.Helper()
	cfg, _ := configMapConfig(t, objs)
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

	wo, dep := workload(t, objs)
	ports := map[string]int{} // container port name and number → number
	numbers := map[int]bool{}
	for _, c := range dep.Template.Spec.Containers {
		for _, p := range c.Ports {
			if _, ok := listen[p.ContainerPort]; !ok {
				t.Errorf("%s: container %s port %d (%s): yujing does not listen on it with the ConfigMap's configuration (it listens on %v)",
					wo.File, c.Name, p.ContainerPort, p.Name, listen)
			}
			ports[p.Name] = p.ContainerPort
			ports[strconv.Itoa(p.ContainerPort)] = p.ContainerPort
			numbers[p.ContainerPort] = true
		}
	}
	for port, what := range listen {
		if !numbers[port] {
			t.Errorf("%s: no container port for %d (%s)", wo.File, port, what)
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
			t.Errorf("%s: Service %s selects %v, not the %s's pods %v", s.File, s.Metadata.Name, spec.Selector, wo.Kind, dep.Template.Metadata.Labels)
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
// selects the workload's pods and lets a node drain evict one of them while
// the others keep serving: for the manifest's replicas, and for a few other
// counts it may be scaled to. The manifest runs a cluster (issue 16): at
// least three nodes, of which a drain leaves at least two, so that one more
// failing during the drain still leaves a node holding the partitions.
func TestPodDisruptionBudgetAllowsDrain(t *testing.T) {
	objs := loadManifests(t, "kubernetes")
	pdbs := byKind(objs, "PodDisruptionBudget")
	if len(pdbs) == 0 {
		t.Fatal("no PodDisruptionBudget")
	}
	wo, w := workload(t, objs)
	replicas := w.replicas()
	if replicas < 3 {
		t.Errorf("%s: %s %s runs %d replicas, want at least 3 (one drained, one failed, one left)", wo.File, wo.Kind, wo.Metadata.Name, replicas)
	}
	for _, pdb := range pdbs {
		var spec pdbSpec
		pdb.decodeSpec(t, &spec)
		if spec.Selector == nil || !selects(spec.Selector.MatchLabels, w.Template.Metadata.Labels) {
			t.Errorf("%s: PodDisruptionBudget %s does not select the %s's pods", pdb.File, pdb.Metadata.Name, wo.Kind)
			continue
		}
		if allowed, err := allowedDisruptions(spec, replicas); err == nil && replicas-allowed < 2 {
			t.Errorf("%s: PodDisruptionBudget %s lets a drain take %d of the %d replicas: %d left", pdb.File, pdb.Metadata.Name, allowed, replicas, replicas-allowed)
		}
		counts := []int{replicas, 2, 3, 5}
		slices.Sort(counts)
		for _, n := range slices.Compact(counts) {
			t.Run(fmt.Sprintf("%s/replicas=%d", pdb.Metadata.Name, n), func(t *testing.T) {
				allowed, err := allowedDisruptions(spec, n)
				switch {
				case err != nil:
					t.Errorf("%s: PodDisruptionBudget %s: %v", pdb.File, pdb.Metadata.Name, err)
				case allowed < 1:
					t.Errorf("%s: PodDisruptionBudget %s allows no eviction of %d replicas: every node drain blocks", pdb.File, pdb.Metadata.Name, n)
				case allowed >= n:
					t.Errorf("%s: PodDisruptionBudget %s lets a drain evict all %d replicas at once", pdb.File, pdb.Metadata.Name, n)
				}
			})
		}
	}
}

// TestKubernetesClusterState checks that the ConfigMap makes every pod a
// node of one cluster as docs/CLUSTER.md requires: a PostgreSQL state
// whose URL (password and all) the pods read from a Secret they mount at
// state.url_file, never written in the ConfigMap; state.cluster; InfluxDB
// for readings; an external broker keeping persistent sessions; and a
// volume per pod for the spool.
func TestKubernetesClusterState(t *testing.T) {
	objs := loadManifests(t, "kubernetes")
	cfg, urlFile := configMapConfig(t, objs)
	wo, w := workload(t, objs)
	switch {
	case cfg.State == nil:
		t.Fatal("the ConfigMap's configuration has no state: section (each pod would keep its own state.db)")
	case urlFile == "":
		t.Errorf("state.url is in the ConfigMap: give url_file, a Secret the pods mount")
	case cfg.State.Cluster == nil:
		t.Errorf("no state.cluster: a second pod on %s would refuse to start", cfg.State.Where)
	}
	if cfg.Influx == nil {
		t.Error("no influx: section: a cluster keeps readings in InfluxDB")
	}
	if cfg.MQTT.Broker == "" || cfg.EmbeddedListen != "" {
		t.Errorf("mqtt: want an external broker and no embedded one (broker %q, embedded %q)", cfg.MQTT.Broker, cfg.EmbeddedListen)
	}
	if cfg.MQTT.CleanSession {
		t.Error("mqtt.clean_session is true: a partition's queued messages would not reach its next owner")
	}
	if wo.Kind != "StatefulSet" {
		t.Errorf("%s: %s %s: want a StatefulSet, with a volume per pod for %s/spool", wo.File, wo.Kind, wo.Metadata.Name, cfg.DataDir)
	}
	var sts struct {
		VolumeClaimTemplates []struct {
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		} `yaml:"volumeClaimTemplates"`
	}
	wo.decodeSpec(t, &sts)
	claims := map[string]bool{}
	for _, c := range sts.VolumeClaimTemplates {
		claims[c.Metadata.Name] = true
	}
	mounted := false
	for _, c := range w.Template.Spec.Containers {
		for _, m := range c.VolumeMounts {
			if m.MountPath != cfg.DataDir {
				continue
			}
			mounted = true
			if !claims[m.Name] {
				t.Errorf("%s: container %s mounts %s (data_dir) from %s, not from a volumeClaimTemplate: the pods would share one spool or lose it", wo.File, c.Name, m.MountPath, m.Name)
			}
		}
	}
	if !mounted {
		t.Errorf("%s: nothing mounted at data_dir %s: the spool would not outlive the pod", wo.File, cfg.DataDir)
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
