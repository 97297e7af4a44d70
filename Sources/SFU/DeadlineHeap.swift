import Wire

/// The next deadline of each of many owners (participants, sessions), so
/// the engine finds the earliest without asking every owner after every
/// batch.
///
/// A binary min-heap of (deadline, owner) entries with lazy invalidation:
/// `schedule` records an owner's current deadline and pushes an entry only
/// when it changed; an entry whose deadline is no longer its owner's
/// current one is stale and is dropped when it reaches the top. Stale
/// entries never outnumber live ones by much: past that the heap is
/// rebuilt from the current deadlines, in its own storage. Once its storage
/// has grown, scheduling allocates nothing. Runs on its engine's loop only.
struct DeadlineHeap<Owner: AnyObject> {
    private struct Entry {
        var at: Instant
        var owner: ObjectIdentifier
    }

    /// Each owner's current deadline (holding the owner until it is unscheduled).
    private var current: [ObjectIdentifier: (at: Instant, owner: Owner)] = [:]
    private var heap: [Entry] = []

    /// How many owners have a deadline.
    var count: Int { current.count }

    /// Sets `owner`'s deadline; nil: it has none (and is no longer held).
    mutating func schedule(_ owner: Owner, at deadline: Instant?) {
        let id = ObjectIdentifier(owner)
        guard let deadline else {
            current[id] = nil
            return
        }
        if let known = current[id], known.at == deadline { return }
        current[id] = (deadline, owner)
        push(Entry(at: deadline, owner: id))
        // Lazy invalidation leaves stale entries behind; bound them.
        if heap.count > 2 * current.count + 32 { rebuild() }
    }

    /// Forgets every owner.
    mutating func removeAll() {
        current.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
    }

    /// The earliest deadline of any owner.
    mutating func earliest() -> Instant? {
        dropStaleTop()
        return heap.first?.at
    }

    /// The owner whose deadline is earliest, if that is at or before `now`;
    /// it is unscheduled (the caller handles it, then schedules it again).
    mutating func popDue(now: Instant) -> Owner? {
        dropStaleTop()
        guard let top = heap.first, top.at <= now, let owner = current.removeValue(forKey: top.owner)?.owner else {
            return nil
        }
        removeTop()
        return owner
    }

    // MARK: Heap

    private func isLive(_ e: Entry) -> Bool { current[e.owner]?.at == e.at }

    private mutating func dropStaleTop() {
        while let top = heap.first, !isLive(top) { removeTop() }
    }

    private mutating func rebuild() {
        heap.removeAll(keepingCapacity: true)
        for (id, value) in current { heap.append(Entry(at: value.at, owner: id)) }
        var i = heap.count / 2 - 1
        while i >= 0 {
            siftDown(i)
            i -= 1
        }
    }

    private mutating func push(_ e: Entry) {
        heap.append(e)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].at < heap[parent].at else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func removeTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var smallest = left
            if left + 1 < heap.count, heap[left + 1].at < heap[left].at { smallest = left + 1 }
            guard heap[smallest].at < heap[parent].at else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
