/// `upload` on one venue: which local backups were copied off-site now, and how many were there already.
public struct UploadResult: VenueResult {
    public static let command = "upload"
    /// File names copied by this run.
    public var uploaded: [String]
    public var alreadyOffsite: Int

    public init(uploaded: [String], alreadyOffsite: Int) {
        self.uploaded = uploaded
        self.alreadyOffsite = alreadyOffsite
    }

    public var summary: String {
        uploaded.isEmpty && alreadyOffsite == 0 ? "no local backups" : "uploaded \(uploaded.count), \(alreadyOffsite) already off-site"
    }

    enum CodingKeys: String, CodingKey { case uploaded, alreadyOffsite = "already_offsite" }
}
