#include "runtime/DeviceInternal.h"

namespace ds::rt {

Expected<Stream> Context::createStream(bool nonBlocking) const {
  DS_RT_RETURN_IF_ERROR(makeCurrent());
  Stream s;
  s.ctx_ = state_;
  DS_RT_RETURN_IF_ERROR(driver().check(
      driver().cuStreamCreate(&s.stream_, nonBlocking ? cu::STREAM_NON_BLOCKING : 0), "cuStreamCreate"));
  return s;
}

Stream::Stream(Stream &&o) noexcept : ctx_(std::move(o.ctx_)), stream_(o.stream_) { o.stream_ = nullptr; }

Stream &Stream::operator=(Stream &&o) noexcept {
  if (this != &o) {
    this->~Stream();
    ctx_ = std::move(o.ctx_);
    stream_ = o.stream_;
    o.stream_ = nullptr;
  }
  return *this;
}

Stream::~Stream() {
  if (stream_ && ctx_ && ctx_->makeCurrent().ok())
    (void)ctx_->driver->cuStreamDestroy(stream_);
  stream_ = nullptr;
}

Status Stream::synchronize() const {
  if (!ctx_)
    return Status::error("synchronize on an empty Stream");
  return ctx_->driver->check(ctx_->driver->cuStreamSynchronize(stream_), "cuStreamSynchronize");
}

Expected<Event> Context::createEvent() const {
  DS_RT_RETURN_IF_ERROR(makeCurrent());
  Event e;
  e.ctx_ = state_;
  DS_RT_RETURN_IF_ERROR(
      driver().check(driver().cuEventCreate(&e.event_, cu::EVENT_DEFAULT), "cuEventCreate"));
  return e;
}

Event::Event(Event &&o) noexcept : ctx_(std::move(o.ctx_)), event_(o.event_) { o.event_ = nullptr; }

Event &Event::operator=(Event &&o) noexcept {
  if (this != &o) {
    this->~Event();
    ctx_ = std::move(o.ctx_);
    event_ = o.event_;
    o.event_ = nullptr;
  }
  return *this;
}

Event::~Event() {
  if (event_ && ctx_ && ctx_->makeCurrent().ok())
    (void)ctx_->driver->cuEventDestroy(event_);
  event_ = nullptr;
}

Status Event::record(CUstream stream) const {
  if (!ctx_)
    return Status::error("record on an empty Event");
  return ctx_->driver->check(ctx_->driver->cuEventRecord(event_, stream), "cuEventRecord");
}

Status Event::synchronize() const {
  if (!ctx_)
    return Status::error("synchronize on an empty Event");
  return ctx_->driver->check(ctx_->driver->cuEventSynchronize(event_), "cuEventSynchronize");
}

Expected<float> Event::elapsedMs(const Event &start, const Event &end) {
  if (!start.ctx_ || !end.ctx_)
    return Status::error("elapsedMs on an empty Event");
  float ms = 0;
  DS_RT_RETURN_IF_ERROR(start.ctx_->driver->check(
      start.ctx_->driver->cuEventElapsedTime(&ms, start.event_, end.event_), "cuEventElapsedTime"));
  return ms;
}

} // namespace ds::rt
