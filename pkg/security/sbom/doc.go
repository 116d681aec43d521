// Package sbom generates software bills of materials for container images,
// with syft as a library, and reads them back.
//
// # The pipeline
//
// Generate takes an image by digest and its go-containerregistry v1.Image,
// as registry.Client.Image returns it: lazy, with every request going
// through sc's transport (authentication, retries, user agent). The image is
// handed to stereoscope as it is (stereoscope's own registry provider is not
// used, so the image is not fetched a second time outside that transport):
// stereoscope fetches each layer once, unpacks it under a temporary
// directory and indexes its files; syft's cataloguers find the packages;
// syft's encoder for the chosen format writes the document. The temporary
// directory is removed before Generate returns.
//
// The Result keeps syft's in-memory *sbom.SBOM beside the encoded document:
// the vulnerability scan matches on its packages instead of cataloguing the
// image again, and Encode turns it into more documents (a CycloneDX and an
// SPDX SBOM of one image) without reading the image again. Decode turns a
// document back into the model, for an SBOM fetched from an attestation or
// supplied by a user; Identify names the format of a document. ReadSubject
// says which image a document describes, by the digests it names, and
// Subject.Check whether that is the image it is to be scanned or attached
// for: a document of another image is an ErrSubjectMismatch.
//
// A large part of one Generate call's time and memory goes into building
// syft's license scanner (BenchmarkGenerateFresh measures a first call in a
// fresh process). syft v1.57 builds it in every cataloguing run, whether or not a
// license text is ever looked at (the licenses packages declare, in Debian
// copyright files or package.json, need none), and offers no way to leave
// it out: only syft can make one, and it makes one unless the context
// already carries one. Generate therefore starts building it when it
// starts and reads the image meanwhile, so that the build overlaps the
// download of the layers; a caller that makes SBOMs of
// many images calls Prepare once and passes its context to every Generate
// call, which then share one scanner. Checking a caller's cataloguer
// selection does not build it, and neither does an SBOM composed from the
// layer cache (below): when the cache holds an entry for a chain of the
// image's layers, the scanner is built only if the image turns out to need
// cataloguing after all, then without the overlap. The scanner cannot be
// left out of a cataloguing run without changing its output: syft
// classifies license texts with it (a Debian copyright file without
// License: fields, a Go module's or a Java archive's license file), and
// without one records a hash of the text instead.
//
// # Layers catalogued once
//
// Images of a release share their lower layers. With WithLayerCache, the
// images share their cataloguing too. syft's cataloguers see an image only
// through its file resolver, so a run is recorded with what it asked the
// resolver (paths, globs, MIME types) and every file it was answered with
// or read, under the chain ID of the image's layers (the OCI chain ID: a
// layer's diff ID with all the layers below it) and a hash of the
// cataloguer selection and the syft version. The same record is also kept
// under the lowest chain of lower layers whose upper layers write and remove
// none of those files and match none of those globs or types: by the same
// argument, cataloguing that chain alone gives the same answers.
//
// An image whose longest cached chain is k layers is then composed, not
// catalogued, when its layers above k write no path that was asked for or
// answered, no file matching a recorded glob, no regular file of a recorded
// MIME type, no link or special file, no directory above a path that was
// reached through a link, and remove (whiteouts, opaque directories) nothing
// at or above a path that was asked for or answered. A composed SBOM is the
// recorded one with the image's own source description; its packages,
// locations (layer IDs included), relationships and distribution are what
// syft finds in the whole image, which the tests check against syft's own
// squashed cataloguing for siblings, static application layers, and upper
// layers that rewrite the dpkg status, change an npm lock file, white out
// files or make a directory opaque.
//
// Everything else falls back to cataloguing the whole image, and says why
// in Result.Layers.Fallback:
//   - an upper layer that adds or changes anything a cataloguer looks for:
//     an executable (the Go-binary, ELF and binary-classifier cataloguers
//     search by MIME type), a package manifest or lock file, a package
//     database, a file a package's metadata or license came from;
//   - any cataloguer that walks every file (syft v1.57's Nix store
//     cataloguer does, and is recognised by name: its walk only depends on
//     paths holding "nix/store"; any other walk disables composition);
//   - scopes other than squashed and any file listing (WithFiles): file
//     cataloguers read every file;
//   - a cache entry that cannot be read or decoded.
//
// Upper layers are not catalogued on their own beside the base's record: a
// package an upper layer adds is found by cataloguing the whole image.
// Restricting syft's search to the upper layers' files while its related
// lookups see the whole tree needs telling the two apart, which syft v1.57's
// file resolver interface does not (cataloguers and their parsers call the
// same methods), and syft's post-processing (binary packages owned by an OS
// package, ownership by file overlap) runs only inside one CreateSBOM over
// one catalogue. So a base plus an application binary or manifest is
// catalogued whole.
//
// Composing reads only the layers above the cached chain: stereoscope is
// given the lower ones hollow (their descriptors, no content), so they are
// neither downloaded nor unpacked, and the sizes it would have counted
// while unpacking them come from the entry, which recorded the same layers.
// When the upper layers rule the entry out, the image is read again whole
// and catalogued: its upper layers are then fetched twice, unless img
// caches what it reads (a release's images do, through its layer cache). Generate calls sharing a context from Prepare catalogue
// a shared base once even when they start together: a call that finds no
// entry while another one catalogues an image with the same bottom layer
// waits for that one (once), then looks again.
//
// # Defaults
//
// Chosen for CI, where an SBOM is made on every build and stored and signed:
//
//   - format cyclonedx-json (DefaultFormat), CycloneDX spec 1.6: the most
//     widely read of the formats; 1.5 and 1.7 on request. SPDX documents are
//     SPDX 2.3. Documents are compact, not indented.
//   - scope squashed (DefaultScope): what a container started from the image
//     contains; the layers below the top one are not squashed at all.
//   - cataloguers: syft's defaults for an image (OS packages, installed
//     language packages, binaries) plus the JavaScript lock-file cataloguer
//     (DefaultCatalogers: a bundled Node.js application ships its lock file
//     but no node_modules), with CPEs generated for matching and package
//     relationships; no network access (no remote license lookups).
//     WithCatalogers changes the selection.
//   - files: none (NoFiles): no document lists a file, not even those syft
//     relates packages to. syft's own default lists every file owned by a
//     package with its digests and metadata, which multiplies the size and
//     time of an SBOM and serves no vulnerability scan; ask for it with
//     WithFiles(PackageFiles) or WithFiles(AllFiles), which give each file
//     its SHA-1 (SPDX 2.3 requires it) and SHA-256, as the syft CLI does.
//     An SPDX document leaves out a file that has no SHA-1 (a symbolic
//     link, a directory), for which syft would write a checksum of zeros.
//   - parallelism: syft's default, one cataloguer per CPU.
//
// # Formats and attestations
//
// Each format has the media type and the in-toto predicate type it is
// attached with. The predicate types are those `cosign attest --type`
// writes, so `cosign verify-attestation --type` with the same name finds
// what sc attached:
//
//	format          media type                       predicate type             predicate    cosign --type
//	cyclonedx-json  application/vnd.cyclonedx+json   https://cyclonedx.org/bom  JSON object  cyclonedx
//	cyclonedx-xml   application/vnd.cyclonedx+xml    https://cyclonedx.org/bom  JSON string  (cosign accepts JSON only)
//	spdx-json       application/spdx+json            https://spdx.dev/Document  JSON object  spdxjson
//	spdx-tag-value  text/spdx                        https://spdx.dev/Document  JSON string  spdx
//	syft-json       application/vnd.syft+json        https://syft.dev/bom       JSON object  https://syft.dev/bom
//
// A "JSON string" predicate is the document's text as one JSON string, as
// `cosign attest --type spdx` stores a tag-value document. cosign has no
// form for CycloneDX XML; sc attaches it the same way, under the CycloneDX
// predicate type. Attaching and verifying is the business of package
// attest; this package only names the types (Format.PredicateType,
// Format.TextPredicate).
//
// # What it does not do
//
// It does not resolve tags, talk to registries or sign anything: the image
// comes from package registry and the attestation is made by package
// attest. It does not validate documents against their JSON schemas at run
// time (the tests do, for every format). It writes nothing to stdout or
// stderr and never changes syft's global logger or event bus.
package sbom
