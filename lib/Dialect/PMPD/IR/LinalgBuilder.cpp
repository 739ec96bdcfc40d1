//===- LinalgBuilder.cpp - Readable linalg-on-tensors construction --------===//

#include "pmpd/Dialect/PMPD/IR/LinalgBuilder.h"

using namespace mlir;
using namespace pmpd;

Value LinalgBuilder::empty(ArrayRef<int64_t> shape, ValueRange dynamicSizes) {
  return tensor::EmptyOp::create(b, shape, b.getF32Type(), dynamicSizes);
}

Value LinalgBuilder::filled(ArrayRef<int64_t> shape, ValueRange dynamicSizes,
                            double value) {
  Value init = empty(shape, dynamicSizes);
  Value scalar = arith::ConstantOp::create(b, b.getF32FloatAttr(float(value)));
  return linalg::FillOp::create(b, ValueRange{scalar}, ValueRange{init})
      .getResult(0);
}

AffineMap LinalgBuilder::dims(unsigned numDims, ArrayRef<unsigned> results) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d : results)
    exprs.push_back(b.getAffineDimExpr(d));
  return AffineMap::get(numDims, 0, exprs, b.getContext());
}

ResultRange LinalgBuilder::generic(ValueRange inputs, ValueRange inits,
                                   ArrayRef<AffineMap> maps,
                                   ArrayRef<utils::IteratorType> iterators,
                                   BodyFn body) {
  return linalg::GenericOp::create(
             b, TypeRange(inits), inputs, inits, maps, iterators,
             [&](OpBuilder &nested, Location loc, ValueRange args) {
               ImplicitLocOpBuilder ib(loc, nested);
               Scalar s{ib};
               linalg::YieldOp::create(ib, body(s, args));
             })
      .getResults();
}
