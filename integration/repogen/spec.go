package repogen

import "fmt"

// DistKinds says which distribution files a synthetic release has.
type DistKinds uint8

// Distribution kinds, combinable: Wheel|Sdist gives both.
const (
	Wheel DistKinds = 1 << iota
	Sdist
)

// ProjectSpec describes a synthetic project: the generator builds real,
// pip-installable wheels and offline-buildable sdists from it.
type ProjectSpec struct {
	// Name is the project name as the user writes it; pages and targets
	// use its PEP 503 normalized form.
	Name     string
	Releases []ReleaseSpec
}

// ReleaseSpec describes one version of a synthetic project.
type ReleaseSpec struct {
	Version string
	// RequiresPython becomes Requires-Python in the metadata and
	// data-requires-python on the index page, e.g. ">=3.8".
	RequiresPython string
	// Dependencies are Requires-Dist lines, e.g. "lib>=1.0".
	Dependencies []string
	// Yanked marks every file of the release as yanked (PEP 592) with
	// YankedReason, which may be empty.
	Yanked       bool
	YankedReason string
	// Dists says which files to build; zero means a wheel only.
	Dists DistKinds
	// SdistStem, if set, names the sdist "<SdistStem>.tar.gz" (and its
	// top-level directory "<SdistStem>/") instead of PEP 625's
	// "<name>-<version>": the legacy names uploaders chose before PEP 625,
	// such as "pkg-0-9-9" for version 9 of pkg-0-9, which also reads as
	// version 9-9 of pkg-0.
	SdistStem string
}

func (r ReleaseSpec) dists() DistKinds {
	if r.Dists == 0 {
		return Wheel
	}
	return r.Dists
}

// Release is a shorthand for a wheel-only release with dependencies.
func Release(version string, deps ...string) ReleaseSpec {
	return ReleaseSpec{Version: version, Dependencies: deps}
}

// SyntheticProjects returns n projects shaped like the reference fixture:
// synthetic-pkg-0 … synthetic-pkg-(n-1), each with wheels for 1.0.0 and
// 1.1.0 and no dependencies.
func SyntheticProjects(n int) []ProjectSpec {
	specs := make([]ProjectSpec, 0, n)
	for i := range n {
		specs = append(specs, ProjectSpec{
			Name:     fmt.Sprintf("synthetic-pkg-%d", i),
			Releases: []ReleaseSpec{Release("1.0.0"), Release("1.1.0")},
		})
	}
	return specs
}

func (p ProjectSpec) validate() error {
	if err := checkProjectName(p.Name); err != nil {
		return err
	}
	if len(p.Releases) == 0 {
		return fmt.Errorf("project %s has no releases", p.Name)
	}
	for _, r := range p.Releases {
		if err := checkVersion(r.Version); err != nil {
			return fmt.Errorf("project %s: %w", p.Name, err)
		}
		if r.SdistStem != "" && (checkProjectName(r.SdistStem) != nil || r.dists()&Sdist == 0) {
			return fmt.Errorf("project %s %s: sdist stem %q: want a name-like stem and an sdist", p.Name, r.Version, r.SdistStem)
		}
		if r.dists()&^(Wheel|Sdist) != 0 {
			return fmt.Errorf("project %s %s: unknown distribution kinds %#x", p.Name, r.Version, r.Dists)
		}
	}
	return nil
}
