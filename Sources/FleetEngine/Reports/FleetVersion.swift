/// This gwi-fleet's version: `--version` prints it, the metrics' `gwi_fleet_build_info` carries it.
public enum FleetVersion {
    public static let number = "0.6.0"
}
