// Package shard splits a release across the jobs of a CI matrix: a plan
// assigns every service of a stack to one of N shards, balanced by a cost
// estimate read from the registry (the size of each image's layers and
// config, summed from its manifests; no layer is downloaded) and stable (the
// same services and the same manifests give the same shards, whichever
// machine computes it). `sc release plan` prints the plan as a matrix for
// GitHub Actions or GitLab CI; `sc release create --shard I/N` computes the
// same plan and works on shard I only.
//
// An Identity names the release a result belongs to — the digest of the
// resolved configuration, the stack, its services and the shard — so that
// the parts of one release can be merged (pipeline.Merge) and parts of
// different releases are refused.
//
// It does not run anything (pkg/security/pipeline does), coordinate jobs
// (the CI system's matrix does; the registry is the only shared state) or
// merge results. It links the configuration types and the registry client,
// nothing heavier.
package shard
