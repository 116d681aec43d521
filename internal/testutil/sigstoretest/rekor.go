package sigstoretest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/go-openapi/runtime"
	"github.com/go-openapi/strfmt"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	// The entry kinds this Rekor accepts: what sigstore-go submits
	// (hashedrekord, dsse) and what cosign searches for (intoto).
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1"
	_ "github.com/sigstore/rekor/pkg/types/intoto/v0.0.1"
	_ "github.com/sigstore/rekor/pkg/types/intoto/v0.0.2"
)

// Rekor's client-facing error messages (pkg/api/error.go).
const (
	msgValidationError     = "error processing entry: %v"
	msgEntryAlreadyExists  = "an equivalent entry already exists in the transparency log with UUID %v"
	msgMalformedUUID       = "UUID must be a 64-character hexadecimal string"
	msgLastSizeTooBig      = "the tree size requested(%d) was greater than what is currently observable(%d)"
	msgFirstSizeTooBig     = "firstSize(%d) must be less than lastSize(%d)"
	msgMaxSearchQueryLimit = "more than max allowed %d entries in request"
	msgCanonicalEntryError = "error generating canonicalized entry"
	msgSigningError        = "error signing"
	maxSearchQueries       = 10
	entriesPath            = "/api/v1/log/entries"
)

// rekorLog is Rekor's v1 REST API over one in-memory RFC 6962 tree. Each
// entry is the canonicalised body rekor's own types produce; log IDs, entry
// UUIDs, signed entry timestamps and checkpoints are made exactly as the
// Rekor server makes them.
type rekorLog struct {
	key    *ecdsa.PrivateKey
	signer signature.Signer
	logID  string // hex SHA-256 of the PKIX public key
	treeID int64
	now    func() time.Time

	mu       sync.Mutex
	hostname string // checkpoint origin is "<hostname> - <treeID>"
	tree     *testonly.Tree
	bodies   [][]byte
	times    []int64
	byLeaf   map[string]int64 // hex leaf hash → index
}

func newRekorLog(now func() time.Time) (*rekorLog, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating log key: %w", err)
	}
	signer, err := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	id, err := logID(key.Public())
	if err != nil {
		return nil, err
	}
	treeID, err := rand.Int(rand.Reader, big.NewInt(math.MaxInt64))
	if err != nil {
		return nil, err
	}
	return &rekorLog{
		key:    key,
		signer: signer,
		logID:  hex.EncodeToString(id[:]),
		treeID: treeID.Int64() + 1,
		now:    now,
		tree:   testonly.New(rfc6962.DefaultHasher),
		byLeaf: map[string]int64{},
	}, nil
}

// setOrigin names the log after the host it is served on.
func (l *rekorLog) setOrigin(baseURL string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hostname = baseURL
	if u, err := url.Parse(baseURL); err == nil {
		l.hostname = u.Host
	}
}

func (l *rekorLog) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+entriesPath, l.createEntry)
	mux.HandleFunc("GET "+entriesPath, l.getEntryByIndex)
	mux.HandleFunc("GET "+entriesPath+"/{entryUUID}", l.getEntryByUUID)
	mux.HandleFunc("POST "+entriesPath+"/retrieve", l.searchEntries)
	mux.HandleFunc("GET /api/v1/log", l.logInfo)
	mux.HandleFunc("GET /api/v1/log/proof", l.consistencyProof)
	mux.HandleFunc("GET /api/v1/log/publicKey", l.publicKey)
	return mux
}

// rekorError writes Rekor's error body, {"code": status, "message": …}.
func apiError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, &models.Error{Code: int64(status), Message: message})
}

// entryID is the 80-hex-digit ID Rekor returns: tree ID then leaf hash.
func (l *rekorLog) entryID(leafHash []byte) string {
	return fmt.Sprintf("%016x%x", l.treeID, leafHash)
}

func (l *rekorLog) createEntry(w http.ResponseWriter, r *http.Request) {
	pe, err := models.UnmarshalProposedEntry(http.MaxBytesReader(w, r.Body, maxRequestBytes), runtime.JSONConsumer())
	if err != nil {
		apiError(w, http.StatusBadRequest, fmt.Sprintf(msgValidationError, err))
		return
	}
	entry, err := types.CreateVersionedEntry(pe)
	if err != nil {
		apiError(w, http.StatusBadRequest, fmt.Sprintf(msgValidationError, err))
		return
	}
	leaf, err := types.CanonicalizeEntry(r.Context(), entry)
	if err != nil {
		var invalid *types.InputValidationError
		if errors.As(err, &invalid) {
			apiError(w, http.StatusBadRequest, fmt.Sprintf(msgValidationError, err))
			return
		}
		apiError(w, http.StatusInternalServerError, msgCanonicalEntryError)
		return
	}
	leafHash := rfc6962.DefaultHasher.HashLeaf(leaf)
	id := l.entryID(leafHash)

	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.byLeaf[hex.EncodeToString(leafHash)]; dup {
		w.Header().Set("Location", entriesPath+"/"+id)
		apiError(w, http.StatusConflict, fmt.Sprintf(msgEntryAlreadyExists, id))
		return
	}
	index := int64(len(l.bodies))
	l.tree.AppendData(leaf)
	l.bodies = append(l.bodies, leaf)
	l.times = append(l.times, l.now().Unix())
	l.byLeaf[hex.EncodeToString(leafHash)] = index

	anon, err := l.logEntry(r.Context(), index)
	if err != nil {
		apiError(w, http.StatusInternalServerError, msgSigningError)
		return
	}
	w.Header().Set("ETag", id)
	w.Header().Set("Location", entriesPath+"/"+id)
	writeJSON(w, http.StatusCreated, models.LogEntry{id: anon})
}

func (l *rekorLog) getEntryByUUID(w http.ResponseWriter, r *http.Request) {
	leafHash, ok := l.parseEntryID(r.PathValue("entryUUID"))
	if !ok {
		apiError(w, http.StatusBadRequest, msgMalformedUUID)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	index, found := l.byLeaf[leafHash]
	if !found {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	l.writeEntries(r.Context(), w, []int64{index}, true)
}

func (l *rekorLog) getEntryByIndex(w http.ResponseWriter, r *http.Request) {
	index, err := strconv.ParseInt(r.URL.Query().Get("logIndex"), 10, 64)
	if err != nil || index < 0 {
		apiError(w, http.StatusBadRequest, "logIndex must be a non-negative integer")
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if index >= int64(len(l.bodies)) {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	l.writeEntries(r.Context(), w, []int64{index}, true)
}

func (l *rekorLog) searchEntries(w http.ResponseWriter, r *http.Request) {
	var q models.SearchLogQuery
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes)).Decode(&q); err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	if n := len(q.EntryUUIDs) + len(q.Entries()) + len(q.LogIndexes); n > maxSearchQueries {
		apiError(w, http.StatusUnprocessableEntity, fmt.Sprintf(msgMaxSearchQueryLimit, maxSearchQueries))
		return
	}
	var hashes []string
	for _, id := range q.EntryUUIDs {
		h, ok := l.parseEntryID(id)
		if !ok {
			apiError(w, http.StatusBadRequest, fmt.Sprintf("invalid uuid %s", id))
			return
		}
		hashes = append(hashes, h)
	}
	for _, pe := range q.Entries() {
		entry, err := types.UnmarshalEntry(pe)
		if err != nil {
			apiError(w, http.StatusBadRequest, err.Error())
			return
		}
		leaf, err := types.CanonicalizeEntry(r.Context(), entry)
		if err != nil {
			apiError(w, http.StatusBadRequest, err.Error())
			return
		}
		hashes = append(hashes, hex.EncodeToString(rfc6962.DefaultHasher.HashLeaf(leaf)))
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	var indexes []int64
	for _, h := range hashes {
		if i, ok := l.byLeaf[h]; ok {
			indexes = append(indexes, i)
		}
	}
	for _, i := range q.LogIndexes {
		if i != nil && *i >= 0 && *i < int64(len(l.bodies)) {
			indexes = append(indexes, *i)
		}
	}
	l.writeEntries(r.Context(), w, indexes, false)
}

// writeEntries writes the entries at indexes: as one LogEntry map when
// single is set (GET by UUID or index), else as a list of them (retrieve).
// The caller holds l.mu.
func (l *rekorLog) writeEntries(ctx context.Context, w http.ResponseWriter, indexes []int64, single bool) {
	result := make([]models.LogEntry, 0, len(indexes))
	for _, i := range indexes {
		anon, err := l.logEntry(ctx, i)
		if err != nil {
			apiError(w, http.StatusInternalServerError, msgSigningError)
			return
		}
		result = append(result, models.LogEntry{l.entryID(l.tree.LeafHash(uint64(i))): anon}) //nolint:gosec // i is a valid index
	}
	if single {
		writeJSON(w, http.StatusOK, result[0])
		return
	}
	writeJSON(w, http.StatusOK, result)
}

// parseEntryID accepts a 64-hex-digit UUID or an 80-hex-digit entry ID of
// this tree and returns the leaf hash in hex.
func (l *rekorLog) parseEntryID(id string) (string, bool) {
	switch len(id) {
	case 80:
		if id[:16] != fmt.Sprintf("%016x", l.treeID) {
			return "", false
		}
		id = id[16:]
	case 64:
	default:
		return "", false
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", false
	}
	return id, true
}

// logEntry builds the entry at index with an inclusion proof against the
// current tree, a signed checkpoint and a signed entry timestamp. The caller
// holds l.mu.
func (l *rekorLog) logEntry(ctx context.Context, index int64) (models.LogEntryAnon, error) {
	size := l.tree.Size()
	proof, err := l.tree.InclusionProof(uint64(index), size) //nolint:gosec // index is a valid, non-negative index
	if err != nil {
		return models.LogEntryAnon{}, err
	}
	hashes := make([]string, 0, len(proof))
	for _, h := range proof {
		hashes = append(hashes, hex.EncodeToString(h))
	}
	rootHash := l.tree.Hash()
	checkpoint, err := util.CreateAndSignCheckpoint(ctx, l.hostname, l.treeID, size, rootHash, l.signer)
	if err != nil {
		return models.LogEntryAnon{}, err
	}

	anon := models.LogEntryAnon{
		LogID:          ptr(l.logID),
		LogIndex:       ptr(index),
		Body:           l.bodies[index],
		IntegratedTime: ptr(l.times[index]),
	}
	set, err := l.signEntry(anon)
	if err != nil {
		return models.LogEntryAnon{}, err
	}
	anon.Verification = &models.LogEntryAnonVerification{
		InclusionProof: &models.InclusionProof{
			LogIndex:   ptr(index),
			TreeSize:   ptr(int64(size)), //nolint:gosec // tree sizes fit
			RootHash:   ptr(hex.EncodeToString(rootHash)),
			Hashes:     hashes,
			Checkpoint: ptr(string(checkpoint)),
		},
		SignedEntryTimestamp: strfmt.Base64(set),
	}
	return anon, nil
}

// signEntry makes the signed entry timestamp: the log's signature over the
// canonical JSON of body, integratedTime, logID and logIndex.
func (l *rekorLog) signEntry(anon models.LogEntryAnon) ([]byte, error) {
	payload, err := anon.MarshalBinary()
	if err != nil {
		return nil, err
	}
	canonical, err := jsoncanonicalizer.Transform(payload)
	if err != nil {
		return nil, err
	}
	return l.signer.SignMessage(bytes.NewReader(canonical))
}

func (l *rekorLog) logInfo(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	size := l.tree.Size()
	rootHash := l.tree.Hash()
	checkpoint, err := util.CreateAndSignCheckpoint(r.Context(), l.hostname, l.treeID, size, rootHash, l.signer)
	if err != nil {
		apiError(w, http.StatusInternalServerError, msgSigningError)
		return
	}
	writeJSON(w, http.StatusOK, &models.LogInfo{
		RootHash:       ptr(hex.EncodeToString(rootHash)),
		TreeSize:       ptr(int64(size)), //nolint:gosec // tree sizes fit
		SignedTreeHead: ptr(string(checkpoint)),
		TreeID:         ptr(strconv.FormatInt(l.treeID, 10)),
	})
}

func (l *rekorLog) consistencyProof(w http.ResponseWriter, r *http.Request) {
	first, last := uint64(1), uint64(0)
	var err error
	if s := r.URL.Query().Get("firstSize"); s != "" {
		if first, err = strconv.ParseUint(s, 10, 63); err != nil {
			apiError(w, http.StatusBadRequest, "firstSize must be a non-negative integer")
			return
		}
	}
	if last, err = strconv.ParseUint(r.URL.Query().Get("lastSize"), 10, 63); err != nil || last < 1 {
		apiError(w, http.StatusBadRequest, "lastSize must be a positive integer")
		return
	}
	if first > last {
		apiError(w, http.StatusBadRequest, fmt.Sprintf(msgFirstSizeTooBig, first, last))
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if size := l.tree.Size(); last > size {
		apiError(w, http.StatusBadRequest, fmt.Sprintf(msgLastSizeTooBig, last, size))
		return
	}
	proof, err := l.tree.ConsistencyProof(first, last)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	hashes := make([]string, 0, len(proof))
	for _, h := range proof {
		hashes = append(hashes, hex.EncodeToString(h))
	}
	writeJSON(w, http.StatusOK, &models.ConsistencyProof{
		RootHash: ptr(hex.EncodeToString(l.tree.HashAt(last))),
		Hashes:   hashes,
	})
}

func (l *rekorLog) publicKey(w http.ResponseWriter, _ *http.Request) {
	pemKey, err := cryptoutils.MarshalPublicKeyToPEM(l.key.Public())
	if err != nil {
		apiError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(pemKey)
}

func ptr[T any](v T) *T { return &v }
