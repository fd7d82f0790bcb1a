// KernelOpInterface of every ds op: the dynamic dims an op ties together (the ones its verifier
// checks where static) and the operand a result updates in place.
#include "dialect/DSOps.h"

using namespace mlir;
using namespace mlir::ds;

#include "dialect/DSInterfaces.cpp.inc"

namespace {
/// Dim `dim` of every non-null value, as one group.
void tie(SmallVectorImpl<DimGroup> &groups, std::initializer_list<Value> values, unsigned dim = 0) {
  DimGroup g;
  for (Value v : values)
    if (v)
      g.push_back({v, dim});
  if (g.size() > 1)
    groups.push_back(std::move(g));
}
/// Every dim of `a` equals the same dim of `b` (an operand and its in-place result).
void tieAll(SmallVectorImpl<DimGroup> &groups, Value a, Value b) {
  for (unsigned i = 0, e = cast<RankedTensorType>(a.getType()).getRank(); i < e; ++i)
    tie(groups, {a, b}, i);
}
} // namespace

void LabelGatherOp::getTiedDims(SmallVectorImpl<DimGroup> &g) { tie(g, {getX(), getLabels()}); }

void LabelAppendOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getK(), getSlotMapping()});
  tieAll(g, getLabelCache(), getResult());
  if (getLabelScales() && getNewLabelScales())
    tieAll(g, getLabelScales(), getNewLabelScales());
  tie(g, {getLabelCache(), getLabelScales()});
  tie(g, {getLabelCache(), getLabelScales()}, 1);
}
Value LabelAppendOp::getInPlaceSource(Value result) {
  return result == getNewLabelScales() ? getLabelScales() : getLabelCache();
}

void LabelScoreOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getQLabel(), getPageTable(), getSeqLens(), getScores(), getCandidates()});
  tie(g, {getLabelCache(), getLabelScales()});
  tie(g, {getLabelCache(), getLabelScales()}, 1);
  if (Value cand = getCandidates()) {
    tie(g, {cand, getScores()}, 1);
    tie(g, {cand, getScores()}, 2);
  }
}

void PageSummaryOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getPageTable(), getSeqLens()});
  tie(g, {getKmin(), getKmax(), getK(), getNewKmin(), getNewKmax()});
}
Value PageSummaryOp::getInPlaceSource(Value result) {
  return result == getNewKmin() ? getKmin() : getKmax();
}

void PageSummaryAppendOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getK(), getSlotMapping()});
  tie(g, {getKmin(), getKmax(), getNewKmin(), getNewKmax()});
}
Value PageSummaryAppendOp::getInPlaceSource(Value result) {
  return result == getNewKmin() ? getKmin() : getKmax();
}

void PageScoreOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getQ(), getPageTable(), getSeqLens(), getScores()});
  tie(g, {getKmin(), getKmax()});
}

void PageScoreTopKOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getQ(), getPageTable(), getSeqLens(), getIndices()});
  tie(g, {getKmin(), getKmax()});
}

void TopKOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getScores(), getLens(), getIndices()});
}

void ScoreTopKOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getQLabel(), getPageTable(), getSeqLens(), getIndices()});
  tie(g, {getLabelCache(), getLabelScales()});
  tie(g, {getLabelCache(), getLabelScales()}, 1);
}

void TopPOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getLogits(), getIndices(), getKept(), getCounts()});
  tie(g, {getLogits(), getIndices(), getKept()}, 2);
}

void SampleResidualOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getFixed(), getSeqLens(), getIndices(), getLogWeights()});
  tie(g, {getIndices(), getLogWeights()}, 2);
}

void ExpandPagesOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getPages(), getSeqLens(), getTokens()});
  tie(g, {getPages(), getTokens()}, 1);
}

void Int4AppendOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getK(), getSlotMapping()});
  tie(g, {getKq(), getK()}, 1);
  tieAll(g, getKq(), getNewKq());
}
Value Int4AppendOp::getInPlaceSource(Value result) { return getKq(); }

void Int4ScoreOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getQ(), getPageTable(), getSeqLens(), getCandidates(), getLogits()});
  tie(g, {getCandidates(), getLogits()}, 1);
  tie(g, {getCandidates(), getLogits()}, 2);
}

void SparseDecodeOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getQ(), getPageTable(), getSeqLens(), getIndices(), getLogWeights(), getO()});
  tie(g, {getKCache(), getVCache()});
  if (Value w = getLogWeights())
    tie(g, {getIndices(), w}, 2);
}

void DenseDecodeOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getQ(), getPageTable(), getSeqLens(), getO()});
  tie(g, {getKCache(), getVCache()});
}

void DecodePartialOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getQ(), getPageTable(), getSeqLens(), getIndices(), getLogWeights(), getAcc(), getMl()});
  tie(g, {getKCache(), getVCache()});
  tie(g, {getAcc(), getMl()}, 2);
}

void DecodeMergeOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getAcc(), getMl(), getO()});
  tie(g, {getAcc(), getMl()}, 2);
}

void LinearAttnPrefillOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getQ(), getK(), getV(), getO(), getIntermediate()});
  tie(g, {getStateIndices(), getHasInitialState()});
  tieAll(g, getStates(), getNewStates());
}
Value LinearAttnPrefillOp::getInPlaceSource(Value result) {
  return result == getNewStates() ? getStates() : Value();
}

void LinearAttnDecodeOp::getTiedDims(SmallVectorImpl<DimGroup> &g) {
  tie(g, {getQ(), getK(), getV(), getStateIndices(), getO()});
  tieAll(g, getStates(), getNewStates());
}
Value LinearAttnDecodeOp::getInPlaceSource(Value result) {
  return result == getNewStates() ? getStates() : Value();
}
