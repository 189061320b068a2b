// The admin password hash as Carbon 4.4.1's JDBCUserStoreManager.preparePassword stores it for SHA-256 with a
// salt: Base64(MessageDigest("SHA-256").digest((password + salt).getBytes())), the server started with
// -Dfile.encoding=UTF8 (wso2server.sh). Usage: java -Dfile.encoding=UTF-8 CarbonHash.java <password file> <salt>
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.Base64;

public class CarbonHash {
    public static void main(String[] args) throws Exception {
        String password = new String(Files.readAllBytes(Paths.get(args[0])), StandardCharsets.UTF_8)
                .replaceAll("[\\r\\n]+$", "");
        byte[] digest = MessageDigest.getInstance("SHA-256").digest((password + args[1]).getBytes());
        System.out.println(Base64.getEncoder().encodeToString(digest));
    }
}
